import { randomUUID, timingSafeEqual } from 'node:crypto';
import { WsCloseCode } from '@metered/errors';
import {
  PERMISSIONS,
  PROTOCOL_LIMITS,
  isValidPeerId,
  utf8ByteLength,
  type JsonObject,
  type Permission,
} from '@metered/protocol';
import { SignJWT, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import type { AppRegistry } from './app-registry.js';
import { ChannelScope } from './channel-scope.js';
import { nestsDeeperThan } from './json-depth.js';
import type { AppConfig, PublishableKeyConfig, SecretKeyConfig } from './config.js';

/** Close a connection is about to be refused early with, before any welcome. */
export type AuthCloseCode =
  | typeof WsCloseCode.INVALID_TOKEN
  | typeof WsCloseCode.TOKEN_EXPIRED
  | typeof WsCloseCode.CHANNEL_NOT_AUTHORIZED;

/** The key a connection authenticated with: directly, or through a token it signed. */
export type ConnectionCredential =
  | { readonly kind: 'publishable'; readonly key: PublishableKeyConfig }
  | { readonly kind: 'secret'; readonly key: SecretKeyConfig };

/** Who a connection is and what it may do, from its key or its token. */
export interface ConnectionIdentity {
  readonly app: AppConfig;
  readonly via: 'key' | 'token';
  readonly credential: ConnectionCredential;
  /** The token's `iat` (Unix seconds); `undefined` for publishable keys and tokens without it. */
  readonly issuedAt: number | undefined;
  readonly peerId: string;
  /** Token expiry, Unix seconds; `null` for publishable keys. */
  readonly expiresAt: number | null;
  readonly permissions: ReadonlySet<Permission>;
  readonly scope: ChannelScope;
  /** The token's private `metadata` claim. */
  readonly metadata: JsonObject | undefined;
  /** The token's `peerMetadata` claim, shown to others. */
  readonly peerMetadata: JsonObject | undefined;
}

export type AuthResult =
  | { readonly ok: true; readonly identity: ConnectionIdentity }
  | { readonly ok: false; readonly closeCode: AuthCloseCode; readonly reason: string };

/**
 * JOSE header parameters that point at or carry other keys, or demand extensions: a token with
 * any of them is refused, whatever its signature.
 */
const REFUSED_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'crit'] as const;

/** A live socket is closed this long before its token's `exp`. */
export const TOKEN_EXPIRY_MARGIN_MS = 250;

function refuse(closeCode: AuthCloseCode, reason: string): AuthResult {
  return { ok: false, closeCode, reason };
}

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function serialisedSize(value: unknown): number {
  return utf8ByteLength(JSON.stringify(value));
}

/** The app a connect attempt is for, read from its credential without verifying it. */
export function appOfCredential(
  registry: AppRegistry,
  parameters: URLSearchParams,
): AppConfig | undefined {
  const key = parameters.get('key');
  if (key !== null) return registry.publishableKey(key)?.app;
  const token = parameters.get('token');
  if (token === null) return undefined;
  try {
    const { kid } = decodeProtectedHeader(token);
    return typeof kid === 'string' ? registry.secretKey(kid)?.app : undefined;
  } catch {
    return undefined;
  }
}

export interface ConnectCredentials {
  readonly parameters: URLSearchParams;
  readonly origin: string | undefined;
}

/** Authenticates a WebSocket connect: `?key=` (publishable key) xor `?token=` (HS256 JWT). */
export async function authenticateConnection(
  registry: AppRegistry,
  { parameters, origin }: ConnectCredentials,
  now: number,
): Promise<AuthResult> {
  const keys = parameters.getAll('key');
  const tokens = parameters.getAll('token');
  if (keys.length + tokens.length !== 1) {
    return refuse(WsCloseCode.INVALID_TOKEN, 'exactly one of key or token is required');
  }
  if (keys.length === 1) return authenticateKey(registry, keys[0] as string, origin);
  return verifyToken(registry, tokens[0] as string, now);
}

function authenticateKey(
  registry: AppRegistry,
  key: string,
  origin: string | undefined,
): AuthResult {
  const found = registry.publishableKey(key);
  if (!found) return refuse(WsCloseCode.INVALID_TOKEN, 'unknown key');
  const { app, key: keyConfig, scope, permissions } = found;
  if (keyConfig.allowedOrigins.length > 0) {
    if (origin === undefined || !keyConfig.allowedOrigins.includes(origin)) {
      return refuse(WsCloseCode.INVALID_TOKEN, 'origin not allowed for this key');
    }
  }
  if (scope.isEmpty) return refuse(WsCloseCode.CHANNEL_NOT_AUTHORIZED, 'key authorises no channel');
  return {
    ok: true,
    identity: {
      app,
      via: 'key',
      credential: { kind: 'publishable', key: keyConfig },
      issuedAt: undefined,
      peerId: randomUUID(),
      expiresAt: null,
      permissions,
      scope,
      metadata: undefined,
      peerMetadata: undefined,
    },
  };
}

function secretBytes(key: SecretKeyConfig): Uint8Array {
  return new TextEncoder().encode(key.secret);
}

/** Verifies a token against its app's secret keys and the key's scope. */
export async function verifyToken(
  registry: AppRegistry,
  token: string,
  now: number,
): Promise<AuthResult> {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return refuse(WsCloseCode.INVALID_TOKEN, 'malformed token');
  }
  const { kid, alg } = header;
  if (alg !== 'HS256') return refuse(WsCloseCode.INVALID_TOKEN, 'token algorithm must be HS256');
  const refusedHeader = REFUSED_HEADERS.find((name) => Object.hasOwn(header, name));
  if (refusedHeader !== undefined) {
    return refuse(WsCloseCode.INVALID_TOKEN, `token header ${refusedHeader} is not accepted`);
  }
  if (typeof kid !== 'string') return refuse(WsCloseCode.INVALID_TOKEN, 'token has no kid');
  const found = registry.secretKey(kid);
  if (!found) return refuse(WsCloseCode.INVALID_TOKEN, 'unknown kid');
  const { app, key, scope: keyScope } = found;
  const { clockToleranceSeconds, maxLifetimeSeconds } = app.tokens;

  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, secretBytes(key), {
      algorithms: ['HS256'],
      currentDate: new Date(now),
      // Applies to `nbf`; `exp` is checked exactly below.
      clockTolerance: clockToleranceSeconds,
      requiredClaims: ['exp', 'sub'],
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) {
      return refuse(WsCloseCode.TOKEN_EXPIRED, 'token expired');
    }
    return refuse(WsCloseCode.INVALID_TOKEN, 'invalid token');
  }

  const { sub, exp, iat, channels, permissions, metadata, peerMetadata } = payload;
  if (!isValidPeerId(sub)) return refuse(WsCloseCode.INVALID_TOKEN, 'sub is not a valid peer id');
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    return refuse(WsCloseCode.INVALID_TOKEN, 'exp must be a number');
  }
  if (exp * 1000 - TOKEN_EXPIRY_MARGIN_MS <= now) {
    return refuse(WsCloseCode.TOKEN_EXPIRED, 'token expired');
  }
  const nowSeconds = now / 1000;
  // jose has checked that `iat`, when present, is a number.
  if (typeof iat === 'number') {
    if (iat > nowSeconds + clockToleranceSeconds) {
      return refuse(WsCloseCode.INVALID_TOKEN, 'token issued in the future (iat)');
    }
    if (exp - iat > maxLifetimeSeconds) {
      return refuse(WsCloseCode.INVALID_TOKEN, 'token lifetime exceeds the maximum');
    }
  }
  if (exp - nowSeconds > maxLifetimeSeconds + clockToleranceSeconds) {
    return refuse(WsCloseCode.INVALID_TOKEN, 'token lifetime exceeds the maximum');
  }
  if (metadata !== undefined) {
    if (!isPlainObject(metadata))
      return refuse(WsCloseCode.INVALID_TOKEN, 'metadata must be an object');
    if (nestsDeeperThan(metadata)) {
      return refuse(WsCloseCode.INVALID_TOKEN, 'metadata claim nested too deeply');
    }
    if (serialisedSize(metadata) > PROTOCOL_LIMITS.maxMetadataBytes) {
      return refuse(WsCloseCode.INVALID_TOKEN, 'metadata claim too large');
    }
  }
  if (peerMetadata !== undefined) {
    if (!isPlainObject(peerMetadata)) {
      return refuse(WsCloseCode.INVALID_TOKEN, 'peerMetadata must be an object');
    }
    if (nestsDeeperThan(peerMetadata)) {
      return refuse(WsCloseCode.INVALID_TOKEN, 'peerMetadata claim nested too deeply');
    }
    if (serialisedSize(peerMetadata) > PROTOCOL_LIMITS.maxPeerMetadataBytes) {
      return refuse(WsCloseCode.INVALID_TOKEN, 'peerMetadata claim too large');
    }
  }

  let scope = keyScope;
  if (channels !== undefined) {
    if (
      !Array.isArray(channels) ||
      !channels.every((channel) => typeof channel === 'string' && channel.length > 0)
    ) {
      return refuse(WsCloseCode.INVALID_TOKEN, 'channels must be a list of strings');
    }
    const patterns = channels as string[];
    if (!patterns.every((pattern) => keyScope.covers(pattern))) {
      return refuse(WsCloseCode.INVALID_TOKEN, "token channels exceed the key's channelPatterns");
    }
    scope = new ChannelScope(patterns);
  }

  let granted = found.permissions;
  if (permissions !== undefined) {
    if (
      !Array.isArray(permissions) ||
      !permissions.every((permission) => (PERMISSIONS as readonly unknown[]).includes(permission))
    ) {
      return refuse(WsCloseCode.INVALID_TOKEN, 'permissions must be a list of known actions');
    }
    const requested = permissions as Permission[];
    if (!requested.every((permission) => key.actions.includes(permission))) {
      return refuse(WsCloseCode.INVALID_TOKEN, "token permissions exceed the key's actions");
    }
    granted = new Set(requested);
  }

  if (scope.isEmpty)
    return refuse(WsCloseCode.CHANNEL_NOT_AUTHORIZED, 'token authorises no channel');

  return {
    ok: true,
    identity: {
      app,
      via: 'token',
      credential: { kind: 'secret', key },
      issuedAt: typeof iat === 'number' ? iat : undefined,
      peerId: sub,
      expiresAt: exp,
      permissions: granted,
      scope,
      metadata: metadata,
      peerMetadata: peerMetadata,
    },
  };
}

export interface TokenClaimsInput {
  readonly peerId: string;
  readonly channels: readonly string[];
  readonly permissions: readonly Permission[];
  readonly expiresAt: number;
  readonly issuedAt: number;
  readonly metadata?: JsonObject | undefined;
  readonly peerMetadata?: JsonObject | undefined;
}

/** Signs a protocol v1 token with a secret key (HS256, `kid` = the key id). */
export async function signToken(key: SecretKeyConfig, claims: TokenClaimsInput): Promise<string> {
  const payload: Record<string, unknown> = {
    channels: [...claims.channels],
    permissions: [...claims.permissions],
  };
  if (claims.metadata !== undefined) payload.metadata = claims.metadata;
  if (claims.peerMetadata !== undefined) payload.peerMetadata = claims.peerMetadata;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', kid: key.id, typ: 'JWT' })
    .setSubject(claims.peerId)
    .setIssuedAt(claims.issuedAt)
    .setExpirationTime(claims.expiresAt)
    .sign(secretBytes(key));
}

function safeEqual(left: string, right: string): boolean {
  const a = Buffer.from(left, 'utf8');
  const b = Buffer.from(right, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Resolves `Authorization: Bearer <secret key id>:<secret>` to its app and key, or undefined. */
export function authenticateSecretKey(
  registry: AppRegistry,
  authorization: string | undefined,
): { app: AppConfig; key: SecretKeyConfig } | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer\s+([^:\s]+):(\S+)$/i.exec(authorization.trim());
  if (!match) return undefined;
  const found = registry.secretKey(match[1] as string);
  if (!found || !safeEqual(found.key.secret, match[2] as string)) return undefined;
  return found;
}
