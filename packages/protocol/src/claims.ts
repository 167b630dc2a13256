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

/**
 * Compiles a channel pattern into a matcher: `*` matches any run of characters except `/`,
 * `**` matches anything, every other character matches itself.
 */
export function compileChannelPattern(pattern: string): (channel: string) => boolean {
  if (!pattern.includes('*')) return (channel) => channel === pattern;
  let source = '^';
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index] as string;
    if (char === '*') {
      if (pattern[index + 1] === '*') {
        source += '[\\s\\S]*';
        index++;
      } else source += '[^/]*';
    } else source += char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  const regex = new RegExp(`${source}$`, 'u');
  return (channel) => regex.test(channel);
}
