import { invalid } from './invalid.js';
/** Backoff between automatic reconnect attempts. */
export interface ReconnectOptions {
  /** Delay before the first attempt, in ms (default 500). */
  readonly initialDelayMs?: number;
  /** Growth factor per attempt, ≥ 1 (default 2). */
  readonly multiplier?: number;
  /** Largest delay before jitter, in ms (default 30 000). */
  readonly maxDelayMs?: number;
  /** Uniform jitter of ± this share of the delay, in [0, 1] (default 0.2). */
  readonly jitterRatio?: number;
  /** Attempts after a drop before the client gives up and closes: a positive integer or `Infinity` (default 100). */
  readonly maxAttempts?: number;
}

/** A validated {@link ReconnectOptions} with every field set. */
export type ReconnectPolicy = Required<ReconnectOptions>;

/** The default backoff. */
export const DEFAULT_RECONNECT: ReconnectPolicy = Object.freeze({
  initialDelayMs: 500,
  multiplier: 2,
  maxDelayMs: 30_000,
  jitterRatio: 0.2,
  maxAttempts: 100,
});

/** Validates reconnect options (`TypeError` on a bad value); `false` disables reconnecting. */
export function resolveReconnectPolicy(
  options: ReconnectOptions | false | undefined,
): ReconnectPolicy | false {
  if (options === false) return false;
  const policy = { ...DEFAULT_RECONNECT, ...options };
  for (const key in DEFAULT_RECONNECT) {
    const value = policy[key as keyof ReconnectPolicy];
    // Finite and ≥ 0 (≥ 1 for the multiplier, ≤ 1 for the jitter); attempts: a positive integer or ∞.
    if (
      key === 'maxAttempts'
        ? value !== Infinity && !(Number.isInteger(value) && value > 0)
        : !(Number.isFinite(value) && value >= +(key === 'multiplier')) ||
          (key === 'jitterRatio' && value > 1)
    ) {
      invalid(`reconnect.${key}`);
    }
  }
  return policy;
}

/**
 * The delay before reconnect attempt `attempt` (1-based): `min(initial × multiplier^(attempt−1), max)`
 * with ± `jitterRatio` uniform jitter from `random()` (in [0, 1)), floored at `floorMs` after the
 * jitter (so a 4010 close really waits at least 30 s).
 */
export function reconnectDelay(
  policy: ReconnectPolicy,
  attempt: number,
  random: () => number,
  floorMs = 0,
): number {
  const base = Math.min(
    policy.initialDelayMs * policy.multiplier ** (attempt - 1),
    policy.maxDelayMs,
  );
  const jittered = Math.floor(base * (1 + policy.jitterRatio * (2 * random() - 1)));
  return Math.max(jittered, floorMs, 0);
}
