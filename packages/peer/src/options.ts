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

// The defaults, one constant each so that a bundle of the classes does not carry the object below.
/** Remote peers tracked per channel; further members are ignored. */
export const MAX_REMOTE_PEERS = 256;
/** After a reconnect, how long to wait for the channel's roster before subscribing again. */
export const RECONCILE_TIMEOUT_MS = 10_000;
/** Re-subscribes when no roster comes after a reconnect. */
export const MAX_RESUBSCRIBES = 2;
/** Delays of the ICE restart attempts after the connection failed. */
export const ICE_RESTART_DELAYS_MS: readonly number[] = /* @__PURE__ */ Object.freeze([
  0, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
]);
/** How long each ICE restart offer waits for its answer. */
export const ICE_RESTART_ANSWER_TIMEOUT_MS = 15_000;
/** Received track metadata entries kept per remote peer (oldest dropped first). */
export const TRACK_METADATA_CACHE_SIZE = 512;
/** Inbound ICE candidates accepted per negotiation. */
export const MAX_CANDIDATES_PER_NEGOTIATION = 200;
/** Longest accepted candidate line. */
export const MAX_CANDIDATE_LENGTH = 1_000;
/** Directs kept while a reconnect's roster is awaited. */
export const MAX_HELD_DIRECTS = 1_024;
/** Cap on payloads before the first welcome. */
export const DEFAULT_MAX_MESSAGE_SIZE = 65_536;

/** The fixed timings and limits of the peer layer. */
export const METERED_PEER_DEFAULTS = /* @__PURE__ */ Object.freeze({
  /** Remote peers tracked per channel; further members are ignored. */
  maxRemotePeers: MAX_REMOTE_PEERS,
  /** After a reconnect, how long to wait for the channel's roster before subscribing again. */
  reconcileTimeoutMs: RECONCILE_TIMEOUT_MS,
  /** Re-subscribes when no roster comes after a reconnect. */
  maxResubscribes: MAX_RESUBSCRIBES,
  /** Delays of the ICE restart attempts after the connection failed. */
  iceRestartDelaysMs: ICE_RESTART_DELAYS_MS,
  /** How long each ICE restart offer waits for its answer. */
  iceRestartAnswerTimeoutMs: ICE_RESTART_ANSWER_TIMEOUT_MS,
  /** Received track metadata entries kept per remote peer (oldest dropped first). */
  trackMetadataCacheSize: TRACK_METADATA_CACHE_SIZE,
  /** Inbound ICE candidates accepted per negotiation. */
  maxCandidatesPerNegotiation: MAX_CANDIDATES_PER_NEGOTIATION,
  /** Longest accepted candidate line. */
  maxCandidateLength: MAX_CANDIDATE_LENGTH,
  /** Directs kept while a reconnect's roster is awaited. */
  maxHeldDirects: MAX_HELD_DIRECTS,
  /** Cap on payloads before the first welcome. */
  defaultMaxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
});
