import type { PeerConnection as NativePeerConnection } from 'node-datachannel';
import { NodeRTCPeerConnectionIceEvent, emit } from './events.js';
import { NodeRTCIceCandidate } from './ice-candidate.js';
import type { LocalCandidateHold } from './local-candidate-hold.js';
import type { RTCIceGatheringStateLike } from './peer-connection.js';
import { iceUfragOf, mediaSections } from './sdp.js';

/**
 * The native agent's local candidates and gathering states as a browser reports them:
 * `icecandidate` with browser-style candidates (no `a=` prefix, `sdpMid`, `sdpMLineIndex`,
 * `usernameFragment`), `icegatheringstatechange`, and the end of candidates last. Each event
 * goes through the {@link LocalCandidateHold}.
 */
export class LocalCandidates {
  readonly #target: EventTarget;
  readonly #native: NativePeerConnection;
  readonly #isClosed: () => boolean;
  readonly #localSdp: () => string;
  readonly #hold: LocalCandidateHold;
  #gatheringState: RTCIceGatheringStateLike = 'new';
  readonly #emitted = new Set<string>();
  #endOfCandidatesSent = false;

  constructor(options: {
    /** Fires the events. */
    target: EventTarget;
    native: NativePeerConnection;
    isClosed: () => boolean;
    /** The SDP of the current local description, `''` without one. */
    localSdp: () => string;
    hold: LocalCandidateHold;
  }) {
    this.#target = options.target;
    this.#native = options.native;
    this.#isClosed = options.isClosed;
    this.#localSdp = options.localSdp;
    this.#hold = options.hold;
  }

  /** The gathering state reported so far. */
  get gatheringState(): RTCIceGatheringStateLike {
    return this.#gatheringState;
  }

  onGatheringStateChange(state: string): void {
    const mapped: RTCIceGatheringStateLike =
      state === 'complete' ? 'complete' : state === 'new' ? 'new' : 'gathering';
    this.#hold.run(() => {
      if (mapped === this.#gatheringState) return;
      this.#gatheringState = mapped;
      this.#endOfCandidatesSent = false;
      emit(this.#target, new Event('icegatheringstatechange'));
      this.#maybeEndOfCandidates();
    });
  }

  onLocalCandidate(candidate: string, mid: string): void {
    this.#hold.run(() => {
      const sdp = this.#localSdp();
      const index = mediaSections(sdp).findIndex((section) => section.mid === mid);
      const iceCandidate = new NodeRTCIceCandidate({
        candidate,
        sdpMid: mid,
        sdpMLineIndex: index === -1 ? 0 : index,
        usernameFragment: iceUfragOf(sdp) ?? null,
      });
      this.#emitted.add(iceCandidate.candidate.trim());
      emit(
        this.#target,
        new NodeRTCPeerConnectionIceEvent('icecandidate', { candidate: iceCandidate }),
      );
      this.#maybeEndOfCandidates();
    });
  }

  /**
   * The native side may report the end of gathering before its last candidate: the
   * end-of-candidates event waits until every candidate of the local description was emitted.
   */
  #maybeEndOfCandidates(): void {
    if (this.#isClosed() || this.#gatheringState !== 'complete' || this.#endOfCandidatesSent) {
      return;
    }
    const sdp = this.#native.localDescription()?.sdp ?? '';
    for (const match of sdp.matchAll(/^a=(candidate:.*?)\r?$/gm)) {
      if (!this.#emitted.has(match[1]?.trim() ?? '')) return;
    }
    this.#endOfCandidatesSent = true;
    emit(this.#target, new NodeRTCPeerConnectionIceEvent('icecandidate', { candidate: null }));
  }
}
