export { FakeDataChannel, type FakeDataChannelInit } from './fake-data-channel.js';
export type {
  RTCDataChannelLike,
  DataChannelEventLike,
  DataChannelReadyState,
  DataChannelSendData,
} from '../rtc-data-channel-like.js';
