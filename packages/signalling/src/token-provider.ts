import { SignallingError } from '@metered/errors';
import { invalid } from './invalid.js';
import type { TokenProvider } from './options.js';
import type { TimerSet } from './timer-set.js';

/**
 * Consecutive failures after which the provider counts as stuck: the client stops reconnecting
 * and ends `closed` (reason `token provider stuck`) instead of waiting out its reconnect attempts.
 */
export const TOKEN_PROVIDER_STUCK_FAILURES = 3;

/**
 * Asks `provider` for the token of one connection attempt. Rejects with the provider's own error,
 * with a `SignallingError` after `timeoutMs` or when cancelled (`onCancel` receives the function
 * that cancels), and with a `TypeError` when it returns no token; the provider's signal aborts on
 * every failure. The timer lives in `timers`.
 */
export function fetchToken(
  provider: TokenProvider,
  timeoutMs: number,
  timers: TimerSet,
  onCancel: (cancel: (reason: string) => void) => void,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const controller = new AbortController();
    const settle = (error?: unknown, token?: string): void => {
      timers.clear(timer);
      if (token) return resolve(token);
      controller.abort();
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the provider's own error
      reject(error);
    };
    const timer = timers.set(
      () => settle(new SignallingError({ message: 'token provider timed out' })),
      timeoutMs,
    );
    onCancel((reason) => settle(new SignallingError({ message: reason })));
    Promise.resolve()
      .then(() => provider({ signal: controller.signal }))
      .then((token) => {
        if (typeof token !== 'string' || !token) invalid('token: the provider returned none');
        settle(undefined, token);
      })
      .catch(settle);
  });
}
