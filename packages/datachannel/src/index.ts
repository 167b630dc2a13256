export {
  DataChannel,
  payloadSize,
  type DataChannelOptions,
  type DataChannelSendOptions,
} from './data-channel.js';
export { DATA_CHANNEL_DEFAULTS } from './defaults.js';
export {
  DCOpen,
  DCClose,
  DCError,
  DCMessage,
  type DCErrorOptions,
  type DCMessageOptions,
  type DataChannelEvent,
  type DataChannelMessageData,
} from './events.js';
export type { EventClass, EventHandler } from '@metered/events';
export type {
  RTCDataChannelLike,
  DataChannelReadyState,
  DataChannelSendData,
  DataChannelMessageEventLike,
  DataChannelEventLike,
} from './rtc-data-channel-like.js';
export { MeteredRealtimeError, DataChannelOverflowError } from '@metered/errors';
