import type { AppLimits } from './config.js';
import { TokenBucket } from './token-bucket.js';

/**
 * A socket's inbound frame rate. Before `welcome`, frames wait in the socket's queue and at most
 * `messageBurst` of them may wait; from `welcome` on, a token bucket of `messageBurst` frames
 * refilled at `messagesPerSecond`. A frame over the rate closes the socket (4008).
 */
export class MessageRateLimiter {
  private bucket: TokenBucket | undefined;

  /** Starts the token bucket, when the socket is welcomed. */
  start(limits: AppLimits, now: number): void {
    this.bucket = new TokenBucket(limits.messageBurst, limits.messagesPerSecond, now);
  }

  /**
   * True when one more frame is within the rate: after {@link start}, when the bucket has a
   * token; before, when fewer than `burst` frames are `queued`.
   */
  admit(now: number, queued: number, burst: number): boolean {
    if (this.bucket !== undefined) return this.bucket.tryTake(now);
    return queued < burst;
  }
}
