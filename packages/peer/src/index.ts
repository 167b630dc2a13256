export { MeteredPeer, type JoinOptions } from './metered-peer.js';
export { RemotePeer, type RemotePeerState, type RemotePeerHost } from './remote-peer.js';
export type { LocalTrack } from './local-tracks.js';
export {
  PeerEvent,
  Joined,
  Left,
  StateChange,
  Data,
  FatalError,
  Track,
  StreamAdded,
  StreamRemoved,
  DataChannelOpened,
  NegotiationError,
  IceCandidateError,
  ConnectionReset,
} from './events.js';
export { PeerJoined, PeerLeft } from './membership-events.js';
export type { MeteredPeerState } from './states.js';
export type { EventClass, EventHandler } from '@metered/events';
export { METERED_PEER_DEFAULTS, type MeteredPeerOptions } from './options.js';
export type {
  RTCPeerConnectionLike,
  RTCPeerConnectionFactory,
  RTCRtpSenderLike,
  RTCRtpTransceiverLike,
  MediaStreamLike,
  MediaStreamTrackLike,
  SessionDescriptionLike,
  IceCandidateLike,
  TrackEventLike,
  PeerConnectionConfig,
  RtcEventLike,
  RtcHandler,
} from './rtc-types.js';
export {
  MeteredRealtimeError,
  SignallingError,
  SignallingConnectError,
  ServerRequestError,
  AckTimeoutError,
  DisconnectedError,
  WsCloseCode,
  MeteredPeerSendError,
  MeteredPeerOversizedError,
  MeteredPeerStateError,
  MeteredPeerReplaceTrackError,
  type MeteredPeerSendErrorCode,
  type MeteredPeerStateErrorCode,
  type MeteredPeerStateErrorMethod,
  type ReplaceTrackFailure,
} from '@metered/errors';
export type { JsonObject, JsonValue, IceServerConfig } from '@metered/protocol';
