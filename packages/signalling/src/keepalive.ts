import { PING_FRAME } from '@metered/protocol';
import type { TimerSet } from './timer-set.js';
import type { WebSocketLike } from './websocket.js';

/**
 * The inactivity watchdog and the keepalive ping of one connection, on one timer that compares
 * the time of the last inbound frame instead of being re-armed by every frame. With nothing
 * received for a third of `timeoutMs` (at least 1 s) it pings; after `timeoutMs` it calls
 * `expire`. A `timeoutMs` ≤ 0 or infinite disables both. Its timer lives in `timers`.
 */
export function startKeepalive(
  timeoutMs: number,
  lastFrameAt: () => number,
  socket: WebSocketLike,
  expire: () => void,
  timers: TimerSet,
): void {
  if (!(timeoutMs > 0 && timeoutMs < Infinity)) return;
  const interval = Math.max(1000, Math.floor(timeoutMs / 3));
  let lastPingAt = 0;
  const check = (): void => {
    const now = Date.now();
    const last = lastFrameAt();
    if (now - last >= timeoutMs) return expire();
    if (now - Math.max(last, lastPingAt) >= interval) {
      lastPingAt = now;
      socket.send(PING_FRAME);
    }
    timers.set(check, Math.min(last + timeoutMs, Math.max(last, lastPingAt) + interval) - now);
  };
  timers.set(check, interval);
}
