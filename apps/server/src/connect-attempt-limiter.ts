import { TokenBucket } from './token-bucket.js';

/**
 * Attempts per key (connects per address group and app, REST requests per address group; see
 * `addressGroup`: an IPv6 address counts by its /64): `limit` attempts per 60 s as a token bucket.
 * Full buckets are dropped lazily, so memory stays bounded by the addresses active in the last
 * minute, and no timer is needed.
 */
export class ConnectAttemptLimiter {
  private readonly buckets = new Map<string, { bucket: TokenBucket; limit: number }>();
  private attemptsSinceSweep = 0;

  constructor(private readonly now: () => number) {}

  tryAttempt(key: string, limitPerMinute: number): boolean {
    const now = this.now();
    if (++this.attemptsSinceSweep >= 1024) this.sweep(now);
    let entry = this.buckets.get(key);
    if (!entry || entry.limit !== limitPerMinute) {
      entry = {
        bucket: new TokenBucket(limitPerMinute, limitPerMinute / 60, now),
        limit: limitPerMinute,
      };
      this.buckets.set(key, entry);
    }
    return entry.bucket.tryTake(now);
  }

  /** Seconds until one more attempt is allowed, for `Retry-After`. */
  retryAfterSeconds(limitPerMinute: number): number {
    return Math.max(1, Math.ceil(60 / limitPerMinute));
  }

  private sweep(now: number): void {
    this.attemptsSinceSweep = 0;
    for (const [key, entry] of this.buckets) {
      if (entry.bucket.isFull(now)) this.buckets.delete(key);
    }
  }
}
