import type { ErrorCode } from './error-codes.js';
import {
  MeteredRealtimeError,
  type MeteredRealtimeErrorOptions,
  type SignallingErrorName,
} from './metered-realtime-error.js';

/**
 * Base of the signalling-layer errors. Raised as is for a call made while not connected: the frame
 * never left the client.
 */
export class SignallingError extends MeteredRealtimeError {
  constructor(options: MeteredRealtimeErrorOptions = {}, fallbackMessage = 'signalling error') {
    super(options, fallbackMessage);
  }

  override get name(): SignallingErrorName {
    return 'SignallingError';
  }
}

/** Options of {@link SignallingConnectError}. */
export interface SignallingConnectErrorOptions extends MeteredRealtimeErrorOptions {
  readonly closeCode: number;
  readonly closeReason: string;
}

/**
 * `connect()` failed: the socket closed before the server's welcome. The message never repeats
 * `closeReason`, which is server-controlled text: sanitise it before showing it.
 */
export class SignallingConnectError extends SignallingError {
  declare readonly closeCode: number;
  declare readonly closeReason: string;

  constructor(options: SignallingConnectErrorOptions) {
    super(options, `connection closed before welcome (code ${options.closeCode})`);
  }

  override get name(): 'SignallingConnectError' {
    return 'SignallingConnectError';
  }
}

/** Options of {@link ServerRequestError}. */
export interface ServerRequestErrorOptions extends MeteredRealtimeErrorOptions {
  readonly code: ErrorCode;
  readonly requestId: string | null;
}

/** The server answered a request with an `error` frame correlated to it. */
export class ServerRequestError extends SignallingError {
  declare readonly code: ErrorCode;
  declare readonly requestId: string | null;

  constructor(options: ServerRequestErrorOptions) {
    super(options, `request rejected: ${options.code}`);
  }

  override get name(): 'ServerRequestError' {
    return 'ServerRequestError';
  }
}

/** Options of {@link AckTimeoutError}. */
export interface AckTimeoutErrorOptions extends MeteredRealtimeErrorOptions {
  readonly requestId: string;
  /** How long the client waited, in milliseconds. */
  readonly timeout: number;
}

/** A request went on the wire and no answer came within the ack timeout (15 s). In doubt. */
export class AckTimeoutError extends SignallingError {
  /** The id of the request that got no answer. */
  declare readonly requestId: string;
  /** How long the client waited, in milliseconds (`15000`), not seconds. */
  declare readonly timeout: number;

  constructor(options: AckTimeoutErrorOptions) {
    super(options, `no ack for ${options.requestId} in ${options.timeout} ms`);
  }

  override get name(): 'AckTimeoutError' {
    return 'AckTimeoutError';
  }
}

/**
 * The connection dropped after the frame was sent and before the server confirmed it. The server
 * may or may not have processed it.
 */
export class DisconnectedError extends SignallingError {
  constructor(options: MeteredRealtimeErrorOptions = {}) {
    super(options, 'disconnected before ack');
  }

  override get name(): 'DisconnectedError' {
    return 'DisconnectedError';
  }
}
