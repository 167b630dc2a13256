export {
  RTCPeerConnection,
  rtcPeerConnectionFactory,
  type RTCSignalingStateLike,
  type RTCPeerConnectionStateLike,
  type RTCIceConnectionStateLike,
  type RTCIceGatheringStateLike,
  type RTCOfferOptionsLike,
} from './peer-connection.js';
export { type NodeRTCStats } from './stats.js';
export {
  type NodeRTCConfiguration,
  type RTCIceServerLike,
  toNativeIceServers,
} from './configuration.js';
export {
  NodeRTCDataChannel,
  type RTCDataChannelInitLike,
  type RTCDataChannelStateLike,
} from './data-channel.js';
export {
  NodeRTCPeerConnectionIceEvent,
  NodeRTCDataChannelEvent,
  NodeRTCTrackEvent,
  NodeMessageEvent,
  NodeRTCErrorEvent,
  type NodeEventHandler,
} from './events.js';
export { NodeRTCIceCandidate, type RTCIceCandidateInitLike } from './ice-candidate.js';
export {
  NodeRTCSessionDescription,
  type RTCSdpTypeLike,
  type RTCSessionDescriptionInitLike,
} from './session-description.js';
export {
  NodeMediaStreamTrack,
  NodeMediaStream,
  NodeRtpPacketEvent,
  type MediaKind,
  type NodeMediaStreamTrackOptions,
  type RtpSink,
} from './media-stream-track.js';
export {
  NodeRTCRtpSender,
  NodeRTCRtpReceiver,
  NodeRTCRtpTransceiver,
  type RTCRtpTransceiverDirectionLike,
} from './rtp-transceiver.js';
export {
  createRtpPacket,
  parseRtpHeader,
  isRtcpPacket,
  type RtpPacketInit,
  type RtpHeader,
} from './rtp.js';
