/** The defaults of {@link DataChannelOptions}. */
export const DATA_CHANNEL_DEFAULTS = Object.freeze({
  /** Bytes the channel may hold in its send buffer before sends wait: 1 MiB. */
  maxBufferedAmount: 1_048_576,
  /** Sends waiting or in progress before `send` rejects with `DataChannelOverflowError`. */
  maxQueuedSends: 256,
});
