/**
 * Resolves when `condition()` holds; rejects after `timeoutMs` with what was awaited. Checks every
 * 10 ms: for state that has no event of its own (connection states, counters, rosters).
 */
export function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (condition()) return resolve();
    const started = Date.now();
    const timer = setInterval(() => {
      if (condition()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }
    }, 10);
  });
}
