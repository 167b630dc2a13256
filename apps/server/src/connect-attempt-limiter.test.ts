import { describe, expect, it } from 'vitest';
import { ConnectAttemptLimiter } from './connect-attempt-limiter.js';

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
