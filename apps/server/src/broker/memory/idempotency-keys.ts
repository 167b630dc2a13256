/**
 * The idempotency keys a memory-broker node remembers: per app, key → expiry, in the order they
 * were claimed (every key of an app has the same window, so that is also expiry order). Expired
 * keys are dropped as new ones come; past `maxKeys` the oldest go first.
 */
export class IdempotencyKeys {
  private readonly apps = new Map<string, Map<string, number>>();

  /** True when `key` of `from` was claimed within its window. */
  seen(appId: string, from: string, key: string, now: number): boolean {
    const expiry = this.apps.get(appId)?.get(scoped(from, key));
    return expiry !== undefined && expiry > now;
  }

  /** Claims `key` of `from` for `windowMs`; false when it was claimed already (a duplicate). */
  claim(
    appId: string,
    from: string,
    key: string,
    windowMs: number,
    maxKeys: number,
    now: number,
  ): boolean {
    let keys = this.apps.get(appId);
    if (!keys) {
      keys = new Map();
      this.apps.set(appId, keys);
    }
    for (const [oldest, expiry] of keys) {
      if (expiry > now && keys.size < maxKeys) break;
      keys.delete(oldest);
    }
    const id = scoped(from, key);
    const expiry = keys.get(id);
    if (expiry !== undefined && expiry > now) return false;
    keys.delete(id);
    keys.set(id, now + windowMs);
    return true;
  }

  clear(): void {
    this.apps.clear();
  }
}

/** A key scoped to its sender: the peer id's length first, so no two pairs collide. */
function scoped(from: string, key: string): string {
  return `${from.length}:${from}:${key}`;
}
