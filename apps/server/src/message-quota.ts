import { andThen, type Broker, type MaybePromise } from './broker/broker.js';
import type { AppConfig } from './config.js';

/** The start of the quota period `now` falls in, Unix seconds (periods aligned to the epoch). */
export function periodStartOf(now: number, periodSeconds: number): number {
  const seconds = Math.floor(now / 1000);
  return seconds - (seconds % periodSeconds);
}

/**
 * Counts one publish/send against the app's message quota for the current period (shared by every
 * node through the broker); resolves to false when the quota is exhausted.
 */
export function consumeMessageQuota(
  broker: Broker,
  app: AppConfig,
  now: number,
): MaybePromise<boolean> {
  const periodStart = periodStartOf(now, app.plan.periodSeconds);
  return andThen(
    broker.consumeMessage(app.id, periodStart, app.plan.maxMessagesPerPeriod),
    (result) => result.allowed,
  );
}
