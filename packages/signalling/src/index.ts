export { SignallingClient } from './client.js';
export {
  SignallingEvent,
  Connected,
  Disconnected,
  StateChange,
  Message,
  Direct,
  Presence,
  ServerError,
  GoingAway,
  TokenProviderError,
  Resubscribed,
  SubscriptionEnded,
  type EventFields,
  type PresencePeer,
  type SignallingState,
} from './events.js';
export type { EventClass, EventHandler, EventStreamOptions } from '@metered/events';
export {
  SIGNALLING_CLIENT_DEFAULTS,
  type PublishOptions,
  type PublishResult,
  type RecoverOptions,
  type RecoveringSubscribeOptions,
  type SignallingClientOptions,
  type SignallingLogger,
  type SubscribeOptions,
  type SubscribeResult,
  type TokenProvider,
} from './options.js';
export {
  DEFAULT_RECONNECT,
  type ReconnectOptions,
  type ReconnectPolicy,
} from './reconnect-policy.js';
export type { WebSocketLike, WebSocketFactory } from './websocket.js';
export {
  MeteredRealtimeError,
  SignallingError,
  SignallingConnectError,
  ServerRequestError,
  AckTimeoutError,
  DisconnectedError,
  WsCloseCode,
  type ErrorCode,
} from '@metered/errors';
export type {
  IceServerConfig,
  JsonObject,
  JsonValue,
  StreamPosition,
  WelcomeExtensions,
} from '@metered/protocol';
