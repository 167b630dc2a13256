export {
  MeteredRealtimeError,
  type MeteredRealtimeErrorName,
  type MeteredRealtimeErrorOptions,
  type SignallingErrorName,
} from './metered-realtime-error.js';
export {
  SignallingError,
  SignallingConnectError,
  ServerRequestError,
  AckTimeoutError,
  DisconnectedError,
  type SignallingConnectErrorOptions,
  type ServerRequestErrorOptions,
  type AckTimeoutErrorOptions,
} from './signalling-errors.js';
export {
  MeteredPeerSendError,
  MeteredPeerOversizedError,
  MeteredPeerStateError,
  MeteredPeerReplaceTrackError,
  type MeteredPeerSendErrorCode,
  type MeteredPeerSendErrorOptions,
  type MeteredPeerOversizedErrorOptions,
  type MeteredPeerStateErrorCode,
  type MeteredPeerStateErrorMethod,
  type MeteredPeerStateErrorOptions,
  type MeteredPeerReplaceTrackErrorOptions,
  type ReplaceTrackFailure,
} from './peer-errors.js';
export {
  DataChannelOverflowError,
  type DataChannelOverflowErrorOptions,
} from './data-channel-errors.js';
export {
  WsCloseCode,
  type WsCloseCodeName,
  TERMINAL_CLOSE_CODES,
  OVER_CONCURRENT_LIMIT_FLOOR_MS,
  isTerminalCloseCode,
  closeCodeAction,
  type CloseCodeAction,
} from './close-codes.js';
export { ERROR_CODES, type ErrorCode, isErrorCode } from './error-codes.js';
export { redactSecrets } from './redact.js';
