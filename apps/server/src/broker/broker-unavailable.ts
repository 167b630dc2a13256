/**
 * Close code for a socket refused (or dropped) because the broker cannot serve, e.g. Redis is
 * down: 1013 "try again later". It is not in the terminal set, so clients reconnect with backoff.
 */
export const BROKER_UNAVAILABLE_CLOSE_CODE = 1013;

/** Thrown (or rejected) by a network broker that cannot serve right now. */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
  constructor(message = 'the broker is unavailable', options?: { cause?: unknown }) {
    super(message, options);
  }
}
