import type { AppRegistry } from './app-registry.js';
import { verifyToken, type ConnectionIdentity } from './auth.js';
import type { Broker } from './broker/broker.js';
import { revokedBy } from './revocation.js';

/** The outcome of a `refresh`: the connection's next identity, or why it keeps the old one. */
export type RefreshOutcome =
  | { readonly ok: true; readonly identity: ConnectionIdentity }
  | { readonly ok: false; readonly reason: string };

/**
 * Checks the token of a `refresh` (extension `refresh`) as a connect token is checked: signature,
 * expiry, lifetime, claims and scope against its key, then that it names the connection's app and
 * peer id (`sub`) and that the peer id's revocation (a REST kick) does not cover it. Only
 * token-authenticated connections may refresh.
 */
export async function checkRefresh(
  registry: AppRegistry,
  broker: Broker,
  current: ConnectionIdentity,
  token: string,
  now: number,
): Promise<RefreshOutcome> {
  if (current.via !== 'token') {
    return { ok: false, reason: 'only a token-authenticated connection can refresh' };
  }
  const result = await verifyToken(registry, token, now);
  if (!result.ok) return { ok: false, reason: `token refused: ${result.reason}` };
  const { identity } = result;
  if (identity.app.id !== current.app.id) {
    return { ok: false, reason: 'the token is for another app' };
  }
  if (identity.peerId !== current.peerId) {
    return { ok: false, reason: 'the token names another peer id (sub)' };
  }
  const revocation = await broker.peerRevocation(identity.app.id, identity.peerId, now);
  if (revokedBy(revocation, identity)) {
    return { ok: false, reason: 'the peer id was disconnected by the REST API' };
  }
  return { ok: true, identity };
}
