import { describe, expect, it } from 'vitest';
import { PublishBandwidthLimiter } from './publish-bandwidth-limiter.js';

describe('PublishBandwidthLimiter', () => {
  it('lets an app publish its limit per second, per app, and nothing limits an app without one', () => {
    let now = 0;
    const limiter = new PublishBandwidthLimiter(() => now);
    expect(limiter.tryPublish('a', 600, 1000)).toBe(true);
    expect(limiter.tryPublish('a', 600, 1000)).toBe(true);
    expect(limiter.tryPublish('a', 1, 1000)).toBe(false);
    expect(limiter.tryPublish('b', 600, 1000)).toBe(true);
    expect(limiter.tryPublish('c', 1_000_000, undefined)).toBe(true);
    now = 100;
    expect(limiter.tryPublish('a', 1, 1000)).toBe(false);
    now = 300;
    expect(limiter.tryPublish('a', 1, 1000)).toBe(true);
  });
});
