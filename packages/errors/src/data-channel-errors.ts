import {
  MeteredRealtimeError,
  type MeteredRealtimeErrorOptions,
} from './metered-realtime-error.js';

/** Options of {@link DataChannelOverflowError}. */
export interface DataChannelOverflowErrorOptions extends MeteredRealtimeErrorOptions {
  readonly queued: number;
  readonly cap: number;
}

/** `DataChannel.send` found its queue full: the producer is faster than the network. */
export class DataChannelOverflowError extends MeteredRealtimeError {
  declare readonly queued: number;
  declare readonly cap: number;

  constructor(options: DataChannelOverflowErrorOptions) {
    super(options, `send queue full (${options.queued} of ${options.cap})`);
  }

  override get name(): 'DataChannelOverflowError' {
    return 'DataChannelOverflowError';
  }
}
