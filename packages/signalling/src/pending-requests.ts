import { AckTimeoutError, DisconnectedError, SignallingError } from '@metered/errors';
import { ACK_TIMEOUT_MS, type AckFrame, createRequestId } from '@metered/protocol';
import type { WebSocketLike } from './websocket.js';

/** Settles a pending request: resolves with its ack without an error, rejects with one. */
type Settle = (error?: unknown, ack?: AckFrame) => void;

/**
 * Requests on the wire, by `requestId`, until their `ack` or correlated `error` arrives, the ack
 * timer (15 s) rejects them with `AckTimeoutError`, or the connection ends and they reject with
 * `DisconnectedError`. Every ack timer stops with its request.
 */
export class PendingRequests {
  readonly #settles = new Map<string, Settle>();

  /**
   * Sends the frame `encode` builds for a fresh `requestId` and resolves with its ack. Without a
   * socket (not connected) it rejects with a `SignallingError` and sends nothing.
   */
  send(
    socket: WebSocketLike | undefined,
    encode: (requestId: string) => string,
  ): Promise<AckFrame> {
    return new Promise((resolve, reject) => {
      const requestId = createRequestId();
      const text = encode(requestId);
      if (!socket) throw new SignallingError({ message: 'not connected' });
      socket.send(text);
      const settle: Settle = (error, ack) => {
        this.#settles.delete(requestId);
        clearTimeout(timer);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- always an Error
        if (error) reject(error);
        else resolve(ack as AckFrame);
      };
      const timer = setTimeout(
        () => settle(new AckTimeoutError({ requestId, timeout: ACK_TIMEOUT_MS })),
        ACK_TIMEOUT_MS,
      );
      this.#settles.set(requestId, settle);
    });
  }

  /** An `ack` (no error) or a correlated `error` arrived; `false` when no such request waits. */
  settle(requestId: string, error?: unknown, ack?: AckFrame): boolean {
    const settle = this.#settles.get(requestId);
    settle?.(error, ack);
    return settle !== undefined;
  }

  /** The connection ended (`code`): every request rejects with `DisconnectedError`. */
  disconnect(code: number): void {
    for (const [requestId, settle] of this.#settles) {
      settle(
        new DisconnectedError({ message: `disconnected (${code}) before ack of ${requestId}` }),
      );
    }
  }
}
