import { describe, expect, it } from 'vitest';
import { DEFAULT_RECONNECT, reconnectDelay, resolveReconnectPolicy } from './reconnect-policy.js';

describe('resolveReconnectPolicy', () => {
  it('fills in the defaults and keeps false', () => {
    expect(resolveReconnectPolicy(undefined)).toEqual(DEFAULT_RECONNECT);
    expect(resolveReconnectPolicy({ maxAttempts: 5 })).toEqual({
      ...DEFAULT_RECONNECT,
      maxAttempts: 5,
    });
    expect(resolveReconnectPolicy(false)).toBe(false);
    expect(resolveReconnectPolicy({ maxAttempts: Infinity }).valueOf()).toMatchObject({
      maxAttempts: Infinity,
    });
  });

  it.each([
    { initialDelayMs: -1 },
    { initialDelayMs: Number.NaN },
    { multiplier: 0.9 },
    { multiplier: Infinity },
    { maxDelayMs: -5 },
    { jitterRatio: -0.1 },
    { jitterRatio: 1.5 },
    { maxAttempts: 0 },
    { maxAttempts: 1.5 },
    { maxAttempts: -Infinity },
  ])('rejects %o with a TypeError', (options) => {
    expect(() => resolveReconnectPolicy(options)).toThrow(TypeError);
  });
});

describe('reconnectDelay', () => {
  const policy = DEFAULT_RECONNECT;

  it('grows exponentially up to maxDelayMs without jitter at random 0.5', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 50].map((attempt) =>
      reconnectDelay(policy, attempt, () => 0.5),
    );
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('stays within ±jitterRatio of the base', () => {
    for (const [attempt, base] of [
      [1, 500],
      [3, 2_000],
      [9, 30_000],
    ] as const) {
      expect(reconnectDelay(policy, attempt, () => 0)).toBe(base * 0.8);
      expect(reconnectDelay(policy, attempt, () => 0.999_999_9)).toBeLessThanOrEqual(base * 1.2);
      expect(reconnectDelay(policy, attempt, () => 0.999_999_9)).toBeGreaterThan(base * 1.19);
    }
  });

  it('applies a floor after the jitter', () => {
    expect(reconnectDelay(policy, 1, () => 0, 30_000)).toBe(30_000);
    expect(reconnectDelay(policy, 9, () => 0, 30_000)).toBe(30_000);
    expect(reconnectDelay(policy, 9, () => 0.999_999_9, 30_000)).toBeGreaterThanOrEqual(35_999);
  });

  it('honours a custom policy and never goes negative', () => {
    const custom = resolveReconnectPolicy({ initialDelayMs: 0, jitterRatio: 1 });
    expect(custom && reconnectDelay(custom, 1, () => 0)).toBe(0);
    const linear = resolveReconnectPolicy({ multiplier: 1, initialDelayMs: 100, jitterRatio: 0 });
    expect(linear && reconnectDelay(linear, 10, Math.random)).toBe(100);
  });
});
