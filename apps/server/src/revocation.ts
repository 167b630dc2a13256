// Revocation: what a reload that removes a key, and a REST kick, take away from connections.
import type { AppRegistry } from './app-registry.js';
import type { ConnectionIdentity } from './auth.js';
import type { PeerRevocation } from './broker/broker.js';
import type { AppConfig } from './config.js';

/**
 * True while the key a connection authenticated with is still configured for its app, with the
 * same secret for a secret key (a rotated secret invalidates what the old one signed).
 */
export function credentialInForce(registry: AppRegistry, identity: ConnectionIdentity): boolean {
  const { credential, app } = identity;
  if (credential.kind === 'publishable') {
    return registry.publishableKey(credential.key.key)?.app.id === app.id;
  }
  const found = registry.secretKey(credential.key.id);
  return found?.app.id === app.id && found.key.secret === credential.key.secret;
}

/**
 * The revocation a kick at `now` records by default: every token of the peer issued up to that
 * second stays out until the longest such token can have expired.
 */
export function kickRevocation(app: AppConfig, now: number, ttlSeconds?: number): PeerRevocation {
  const { maxLifetimeSeconds, clockToleranceSeconds } = app.tokens;
  const seconds = ttlSeconds ?? maxLifetimeSeconds + clockToleranceSeconds;
  return { issuedUpTo: Math.floor(now / 1000), until: now + seconds * 1000 };
}

/** Longest `ttlSeconds` a kick may ask for: past it, every earlier token has expired anyway. */
export function maxKickSeconds(app: AppConfig): number {
  return app.tokens.maxLifetimeSeconds + app.tokens.clockToleranceSeconds;
}

/** True when a token connection is kept out by its peer id's revocation. */
export function revokedBy(
  revocation: PeerRevocation | undefined,
  identity: ConnectionIdentity,
): boolean {
  if (revocation === undefined || identity.via !== 'token') return false;
  return identity.issuedAt === undefined || identity.issuedAt <= revocation.issuedUpTo;
}
