import type { PeerConnection as NativePeerConnection } from 'node-datachannel';
import { operationError } from './dom-errors.js';
import { NodeRTCIceCandidate, type RTCIceCandidateInitLike } from './ice-candidate.js';
import { extractCandidates, mediaSections } from './sdp.js';

/** How long an answerer holds the offerer's candidates back at most (see below). */
const REMOTE_CANDIDATE_HOLD_MS = 250;

/**
 * The remote candidates on their way to the native agent: each is added once, those that arrive
 * before the remote description wait for it, and an answerer holds the candidates of a first
 * offer back.
 *
 * Answering a first offer, the remote candidates are held back until our ICE agent connected
 * through the offerer's own checks (or a short fallback passed). Checking at once would let
 * the offerer's agent connect from our checks the instant it applies the answer, and its DTLS
 * start before node-datachannel stored the answer's fingerprint: the handshake then fails.
 */
export class RemoteCandidateHold {
  readonly #native: NativePeerConnection;
  readonly #remoteSdp: () => string;
  readonly #isClosed: () => boolean;
  readonly #pending: RTCIceCandidateInitLike[] = [];
  readonly #added = new Set<string>();
  #holdTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: {
    native: NativePeerConnection;
    /** The SDP of the current remote description, `''` without one. */
    remoteSdp: () => string;
    isClosed: () => boolean;
  }) {
    this.#native = options.native;
    this.#remoteSdp = options.remoteSdp;
    this.#isClosed = options.isClosed;
  }

  /** Candidates wait (for the remote description, or for the hold to end). */
  get holding(): boolean {
    return this.#holdTimer !== undefined;
  }

  /**
   * A remote offer is about to be applied while ICE has not connected yet
   * (`iceConnectionState` is given): its candidates are taken out and the hold starts. Returns
   * the SDP to give the native side.
   */
  holdOffer(sdp: string, iceConnectionState: string): string {
    if (iceConnectionState !== 'new' && iceConnectionState !== 'checking') return sdp;
    const extracted = extractCandidates(sdp);
    this.#hold();
    this.#pending.push(...extracted.candidates);
    return extracted.sdp;
  }

  /** Keeps a candidate until {@link addPending}. */
  queue(candidate: RTCIceCandidateInitLike): void {
    this.#pending.push(candidate);
  }

  /** Ends the hold (ICE connected, or the fallback passed) and adds what was held. */
  release(): void {
    if (this.#holdTimer === undefined) return;
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    if (!this.#isClosed()) this.addPending();
  }

  /** Adds the waiting candidates, unless the hold is on. */
  addPending(): void {
    if (this.#holdTimer !== undefined) return;
    for (const candidate of this.#pending.splice(0)) this.add(candidate, false);
  }

  /**
   * Adds one candidate to the native agent, on its m-line (by `sdpMid`, else `sdpMLineIndex`,
   * else the first). `strict`: a candidate the native side refuses rejects with `OperationError`.
   */
  add(init: RTCIceCandidateInitLike, strict: boolean): void {
    const candidate = new NodeRTCIceCandidate(init);
    const sections = mediaSections(this.#remoteSdp());
    const mid =
      candidate.sdpMid ??
      (candidate.sdpMLineIndex === null ? undefined : sections[candidate.sdpMLineIndex]?.mid) ??
      sections[0]?.mid ??
      '0';
    const key = `${mid} ${candidate.candidate}`;
    if (this.#added.has(key)) return;
    this.#added.add(key);
    try {
      this.#native.addRemoteCandidate(candidate.candidate, mid);
    } catch (err) {
      if (strict) throw operationError('failed to add the ICE candidate', err);
    }
  }

  /** Drops what waits (the connection closed). */
  clear(): void {
    this.#pending.length = 0;
  }

  /** Stops the hold's timer (the connection closed). */
  stop(): void {
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
  }

  #hold(): void {
    if (this.#holdTimer !== undefined) return;
    this.#holdTimer = setTimeout(() => this.release(), REMOTE_CANDIDATE_HOLD_MS);
    this.#holdTimer.unref();
  }
}
