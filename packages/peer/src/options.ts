import type { SignallingClient, SignallingClientOptions } from '@metered/signalling';
import type { RTCPeerConnectionFactory } from './rtc-types.js';

/**
 * Options of {@link MeteredPeer}: those of `SignallingClient` (exactly one of `apiKey` and
 * `tokenProvider`, `url`, `reconnect`, …) plus the WebRTC factory. Pass `signallingClient`
 * instead to share a client you built yourself.
 */
export interface MeteredPeerOptions extends SignallingClientOptions {
  /** Builds each peer connection; default the global `RTCPeerConnection`. On Node pass the adapter's. */
  readonly rtcPeerConnectionFactory?: RTCPeerConnectionFactory | undefined;
  /** A client to use instead of building one from these options; `close()` closes it. */
  readonly signallingClient?: SignallingClient | undefined;
}

/** The fixed timings and limits of the peer layer. */
export const METERED_PEER_DEFAULTS = Object.freeze({
  /** Remote peers tracked per channel; further members are ignored. */
  maxRemotePeers: 256,
  /** After a reconnect, how long to wait for the channel's roster before subscribing again. */
  reconcileTimeoutMs: 10_000,
  /** Re-subscribes when no roster comes after a reconnect. */
  maxResubscribes: 2,
  /** Delays of the ICE restart attempts after the connection failed. */
  iceRestartDelaysMs: Object.freeze([
    0, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
  ]),
  /** How long each ICE restart offer waits for its answer. */
  iceRestartAnswerTimeoutMs: 15_000,
  /** Received track metadata entries kept per remote peer (oldest dropped first). */
  trackMetadataCacheSize: 512,
  /** Inbound ICE candidates accepted per negotiation. */
  maxCandidatesPerNegotiation: 200,
  /** Longest accepted candidate line. */
  maxCandidateLength: 1_000,
  /** Directs kept while a reconnect's roster is awaited. */
  maxHeldDirects: 1_024,
  /** Cap on payloads before the first welcome. */
  defaultMaxMessageSize: 65_536,
});
