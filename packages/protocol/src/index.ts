export type {
  JsonValue,
  JsonObject,
  SubscribeFrame,
  UnsubscribeFrame,
  PublishFrame,
  SendFrame,
  PingFrame,
  SessionFrame,
  RefreshFrame,
  StreamPosition,
  ClientFrame,
  ClientFrameType,
  IceServerConfig,
  WelcomeFrame,
  WelcomeExtensions,
  AckFrame,
  ErrorFrame,
  MessageFrame,
  DirectFrame,
  PresenceMember,
  PresenceFrame,
  GoingAwayFrame,
  PongFrame,
  UnsubscribedFrame,
  ServerFrame,
  ServerFrameType,
} from './frames.js';
export {
  PROTOCOL_LIMITS,
  PROTOCOL_TIMEOUTS,
  RESERVED_CHANNEL_PREFIXES,
  MAX_SERVER_FRAME_LENGTH,
  MAX_EPOCH_LENGTH,
  MAX_TOKEN_LENGTH,
  WELCOME_TIMEOUT_MS,
  ACK_TIMEOUT_MS,
  INACTIVITY_TIMEOUT_MS,
} from './limits.js';
export {
  utf8ByteLength,
  isReservedChannel,
  isValidChannelName,
  validateChannelName,
  isValidPeerId,
  isValidRequestId,
  payloadSize,
  type ChannelValidationCode,
} from './validation.js';
export { createRequestId } from './request-id.js';
export { parseIceServers } from './ice-servers.js';
export {
  parseServerFrame,
  type ParseServerFrameOptions,
  type ParseServerFrameResult,
} from './parse-server-frame.js';
export {
  validateServerFrame,
  type ServerFrameError,
  type ServerFrameErrorReason,
} from './validate-server-frame.js';
export {
  parseClientFrame,
  type ClientFrameRejection,
  type ParseClientFrameResult,
} from './parse-client-frame.js';
export {
  encodeSubscribe,
  encodeUnsubscribe,
  encodePublish,
  encodeSend,
  PING_FRAME,
  encodeSession,
  encodeRefresh,
  encodeWelcome,
  encodeAck,
  encodeError,
  encodeMessage,
  encodeDirect,
  encodePresence,
  encodeGoingAway,
  PONG_FRAME,
  encodeUnsubscribed,
  type WelcomeFields,
  type AckExtras,
} from './encode-frames.js';
export { PERMISSIONS, type Permission, type TokenClaims } from './claims.js';
export {
  compileChannelPattern,
  PATTERN_GLOBSTAR,
  PATTERN_STAR,
  tokenizeChannelPattern,
} from './channel-pattern.js';
export {
  parseRtcSignal,
  rtcDescriptionPayload,
  rtcIcePayload,
  trackMetaPayload,
  type RtcSignal,
  type RtcDescriptionSignal,
  type RtcIceSignal,
  type RtcIceCandidateInit,
  type TrackMetaSignal,
} from './rtc-signals.js';
