import type { RTCDataChannelLike } from '@metered/datachannel';
import type { IceServerConfig } from '@metered/protocol';

// Structural slices of the WebRTC API the peer layer uses. A browser's `RTCPeerConnection`, the
// Node adapter's and a test fake all fit; nothing of the DOM is needed at run time.

// A method signature keeps handler parameters bivariant, so the DOM's handlers (which take richer
// event types) and the Node adapter's are both assignable.
/** An event handler with bivariant parameters (DOM and adapter handlers both fit). */
export type RtcHandler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** What a listener of a WebRTC object receives; only the fields read here are declared. */
export interface RtcEventLike {
  readonly type?: string;
}

/** A media track: `MediaStreamTrack` or the Node adapter's. */
export interface MediaStreamTrackLike {
  readonly id: string;
  readonly kind: string;
  readonly readyState?: string;
  addEventListener?(type: string, listener: RtcHandler<RtcEventLike>): void;
  removeEventListener?(type: string, listener: RtcHandler<RtcEventLike>): void;
}

/** A media stream: `MediaStream` or the Node adapter's. */
export interface MediaStreamLike {
  readonly id: string;
  getTracks(): readonly MediaStreamTrackLike[];
  addEventListener?(type: string, listener: RtcHandler<RtcEventLike>): void;
  removeEventListener?(type: string, listener: RtcHandler<RtcEventLike>): void;
}

/** `RTCRtpSender`: the part used to swap a track. */
export interface RTCRtpSenderLike {
  readonly track: MediaStreamTrackLike | null;
  replaceTrack(track: MediaStreamTrackLike | null): Promise<void>;
}

/** `RTCRtpTransceiver`: the part used to map tracks to the ids their SDP section announces. */
export interface RTCRtpTransceiverLike {
  readonly mid: string | null;
  readonly sender?: RTCRtpSenderLike | undefined;
}

/** `RTCSessionDescriptionInit`. */
export interface SessionDescriptionLike {
  readonly type: 'offer' | 'answer' | 'pranswer' | 'rollback';
  readonly sdp?: string | undefined;
}

/** `RTCIceCandidateInit`, or an `RTCIceCandidate` (whose `toJSON()` gives the init). */
export interface IceCandidateLike {
  readonly candidate?: string | undefined;
  readonly sdpMid?: string | null | undefined;
  readonly sdpMLineIndex?: number | null | undefined;
  readonly usernameFragment?: string | null | undefined;
  toJSON?(): IceCandidateLike;
}

/** The `track` event of a peer connection. */
export interface TrackEventLike {
  readonly track: MediaStreamTrackLike;
  readonly streams: readonly MediaStreamLike[];
  readonly transceiver?: RTCRtpTransceiverLike | null | undefined;
}

/** `RTCConfiguration`: what the peer layer passes to the factory and to `setConfiguration`. */
export interface PeerConnectionConfig {
  iceServers?: IceServerConfig[];
}

/**
 * The part of `RTCPeerConnection` the peer layer uses. Handlers are assigned as `on…` properties
 * and set back to `null` when the connection is dropped.
 */
export interface RTCPeerConnectionLike {
  readonly signalingState: string;
  readonly iceConnectionState: string;
  readonly connectionState: string;
  readonly localDescription: SessionDescriptionLike | null;
  readonly remoteDescription: SessionDescriptionLike | null;
  onnegotiationneeded: RtcHandler<RtcEventLike> | null;
  onicecandidate: RtcHandler<{ readonly candidate: IceCandidateLike | null }> | null;
  oniceconnectionstatechange: RtcHandler<RtcEventLike> | null;
  onconnectionstatechange: RtcHandler<RtcEventLike> | null;
  ontrack: RtcHandler<TrackEventLike> | null;
  ondatachannel: RtcHandler<{ readonly channel: RTCDataChannelLike }> | null;
  createOffer(options?: { iceRestart?: boolean }): Promise<SessionDescriptionLike>;
  createAnswer(): Promise<SessionDescriptionLike>;
  setLocalDescription(description: SessionDescriptionLike): Promise<void>;
  setRemoteDescription(description: SessionDescriptionLike): Promise<void>;
  addIceCandidate(candidate?: IceCandidateLike | null): Promise<void>;
  addTrack(track: MediaStreamTrackLike, ...streams: MediaStreamLike[]): RTCRtpSenderLike;
  removeTrack(sender: RTCRtpSenderLike): void;
  createDataChannel(label: string, options?: object): RTCDataChannelLike;
  /** Used, where present, to find the section that sends each local track. */
  getTransceivers?(): readonly RTCRtpTransceiverLike[];
  setConfiguration?(configuration: PeerConnectionConfig): void;
  restartIce?(): void;
  close(): void;
}

/** Builds one peer connection; the default is the global `RTCPeerConnection`. */
export type RTCPeerConnectionFactory = (config: PeerConnectionConfig) => RTCPeerConnectionLike;
