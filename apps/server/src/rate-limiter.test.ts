import { describe, expect, it } from 'vitest';
import { ConnectAttemptLimiter, TokenBucket } from './rate-limiter.js';

describe('TokenBucket', () => {
  it('allows the burst, then refills at the rate', () => {
    const bucket = new TokenBucket(3, 2, 0);
    expect([bucket.tryTake(0), bucket.tryTake(0), bucket.tryTake(0), bucket.tryTake(0)]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(bucket.tryTake(499)).toBe(false);
    expect(bucket.tryTake(500)).toBe(true);
    expect(bucket.isFull(10_000)).toBe(true);
  });
});

describe('ConnectAttemptLimiter', () => {
  it('counts attempts per key over a minute', () => {
    let now = 0;
    const limiter = new ConnectAttemptLimiter(() => now);
    expect(limiter.tryAttempt('ip', 2)).toBe(true);
    expect(limiter.tryAttempt('ip', 2)).toBe(true);
    expect(limiter.tryAttempt('ip', 2)).toBe(false);
    expect(limiter.tryAttempt('other', 2)).toBe(true);
    now = 30_000;
    expect(limiter.tryAttempt('ip', 2)).toBe(true);
    expect(limiter.retryAfterSeconds(60)).toBe(1);
  });
});
