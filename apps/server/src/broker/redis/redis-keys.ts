// Keys the TypeScript side reads directly (the Lua scripts compute the others, with the same
// layout: see redis-scripts.ts).

/**
 * An app id as it appears in keys: its length in UTF-8 bytes (what Lua's `#` counts), a colon,
 * the id.
 */
export function appKey(appId: string): string {
  return `${Buffer.byteLength(appId, 'utf8')}:${appId}`;
}

/** The hash of a channel's roster: peer id → member JSON. */
export function rosterKey(prefix: string, appId: string, channel: string): string {
  return `${prefix}:roster:${appKey(appId)}:${channel}`;
}

/** The hash of an app's counters: c (concurrent), k (peak), qp (quota period), qu (used). */
export function appCountersKey(prefix: string, appId: string): string {
  return `${prefix}:app:${appKey(appId)}`;
}

/** A kicked peer id's revocation (JSON), expiring with it. */
export function revocationKey(prefix: string, appId: string, peerId: string): string {
  return `${prefix}:revoked:${appKey(appId)}:${peerId}`;
}

/** An idempotency key of a sender (extension `idempotency`), expiring with its window. */
export function idempotencyKey(prefix: string, appId: string, from: string, key: string): string {
  return `${prefix}:idem:${appKey(appId)}:${Buffer.byteLength(from, 'utf8')}:${from}:${key}`;
}
