/**
 * Each app's publish bandwidth on this node: `limits.maxPublishBytesPerSecond` bytes of published
 * data per second, as a bucket of that many bytes refilled at that rate. A publish passes while
 * the bucket is not empty and takes its size (the bucket may go into debt by one message), so
 * the long-run rate stays at the limit. With the Redis broker every published byte crosses the
 * bus to every node: this bounds one app's share of it, so a flooding app cannot make the node's
 * subscriber connection overflow for every tenant. One entry per app with a limit, no timer.
 */
export class PublishBandwidthLimiter {
  private readonly buckets = new Map<
    string,
    { tokens: number; updatedAt: number; limit: number }
  >();

  constructor(private readonly now: () => number) {}

  /** Counts `bytes` published by the app; false (nothing counted) when it is over its limit. */
  tryPublish(appId: string, bytes: number, limitPerSecond: number | undefined): boolean {
    if (limitPerSecond === undefined) return true;
    const now = this.now();
    let bucket = this.buckets.get(appId);
    if (!bucket || bucket.limit !== limitPerSecond) {
      bucket = { tokens: limitPerSecond, updatedAt: now, limit: limitPerSecond };
      this.buckets.set(appId, bucket);
    }
    const elapsed = now - bucket.updatedAt;
    if (elapsed > 0) {
      bucket.tokens = Math.min(limitPerSecond, bucket.tokens + (elapsed / 1000) * limitPerSecond);
      bucket.updatedAt = now;
    }
    if (bucket.tokens <= 0) return false;
    bucket.tokens -= bytes;
    return true;
  }
}
