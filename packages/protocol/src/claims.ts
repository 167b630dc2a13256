import type { JsonObject } from './frames.js';

/** The actions a key or token may grant. */
export const PERMISSIONS = ['subscribe', 'publish', 'presence', 'send'] as const;

/** One of {@link PERMISSIONS}. */
export type Permission = (typeof PERMISSIONS)[number];

/** The claims of a protocol v1 access token (a JWT signed HS256 with a secret key, `kid` = its id). */
export interface TokenClaims {
  /** The peer id. */
  readonly sub: string;
  /** Expiry, Unix seconds. */
  readonly exp: number;
  readonly iat?: number;
  /** Channel names or patterns (`*` = any run without `/`, `**` = anything). */
  readonly channels?: readonly string[];
  readonly permissions?: readonly Permission[];
  /** Private to the peer, echoed once in `welcome.metadata` (≤ 8 KiB serialised). */
  readonly metadata?: JsonObject;
  /** Shown to others on presence, directs and opted-in messages (≤ 4 KiB serialised). */
  readonly peerMetadata?: JsonObject;
}
