import { SignJWT } from 'jose';

export const ACTIONS = ['subscribe', 'publish', 'presence', 'send'] as const;

export interface SecretKey {
  readonly id: string;
  readonly secret: string;
}

/** An app of the server config: one publishable key and one secret key over `**`. */
export function appConfig(
  id: string,
  overrides: {
    publishableKey?: string;
    secretKey?: SecretKey;
    channelPatterns?: string[];
    allowedOrigins?: string[];
    limits?: Record<string, number>;
    plan?: Record<string, number>;
  } = {},
) {
  const channelPatterns = overrides.channelPatterns ?? ['**'];
  const secretKey = overrides.secretKey ?? { id: `sk_id_${id}`, secret: `sk_secret_${id}` };
  return {
    id,
    publishableKeys: [
      {
        key: overrides.publishableKey ?? `pk_live_${id}`,
        channelPatterns,
        actions: [...ACTIONS],
        allowedOrigins: overrides.allowedOrigins ?? [],
      },
    ],
    secretKeys: [{ ...secretKey, channelPatterns, actions: [...ACTIONS] }],
    ...(overrides.limits && { limits: overrides.limits }),
    ...(overrides.plan && { plan: overrides.plan }),
  };
}

/** `Authorization` for the REST API. */
export function bearer(key: SecretKey): string {
  return `Bearer ${key.id}:${key.secret}`;
}

/** An HS256 token as a customer backend signs it (kid = the secret key id). */
export function signToken(
  key: SecretKey,
  peerId: string,
  claims: Record<string, unknown> = {},
  expiresInSec = 3600,
): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256', kid: key.id, typ: 'JWT' })
    .setSubject(peerId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSec)
    .sign(new TextEncoder().encode(key.secret));
}
