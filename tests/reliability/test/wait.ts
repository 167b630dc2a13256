/**
 * Awaits a condition that has no event of its own (server bookkeeping, rosters over REST, open
 * handles): checks it every `intervalMs` until it holds or `timeoutMs` has passed, then returns the
 * last value so the caller asserts on it.
 */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  holds: (value: T) => boolean,
  { timeoutMs = 10_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (holds(value) || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
