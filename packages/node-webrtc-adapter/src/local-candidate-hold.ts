import { extractCandidates } from './sdp.js';

/**
 * The queue of local ICE events (a candidate, a gathering-state change): they wait until a
 * local description was applied, as in browsers, and, for a first offer, until its answer is.
 *
 * Why a first offer holds its candidates: a browser that answers is the DTLS client. Given our
 * candidates it connects ICE from its own checks and sends its ClientHello at once, which can
 * reach node-datachannel before our side applied the answer, so before it knows the answer's
 * fingerprint: the handshake then fails for good (the connection goes to `failed`). Without
 * our candidates the browser waits for our checks, which start only once the answer is
 * applied. The candidates follow the answer, so the connection is delayed by about one
 * signalling round trip at most.
 */
export class LocalCandidateHold {
  readonly #isClosed: () => boolean;
  /** A local description was applied. */
  #applied = false;
  /** Our first offer waits for its answer. */
  #holding = false;
  readonly #pending: Array<() => void> = [];

  constructor(isClosed: () => boolean) {
    this.#isClosed = isClosed;
  }

  /**
   * A local offer is being applied while ICE has not connected yet (`iceConnectionState` is
   * given): its candidates are held until the answer is applied. Returns the offer's SDP,
   * without candidates when they are held.
   */
  holdOffer(sdp: string, iceConnectionState: string): string {
    if (iceConnectionState !== 'new' && iceConnectionState !== 'checking') return sdp;
    this.#holding = true;
    return extractCandidates(sdp).sdp;
  }

  /** Runs a local ICE event now, or queues it (see the class comment). */
  run(event: () => void): void {
    if (this.#isClosed()) return;
    if (this.#applied && !this.#holding) event();
    else this.#pending.push(event);
  }

  /** A local description was applied: what waited for one runs, unless an offer holds it. */
  descriptionApplied(): void {
    if (this.#applied || this.#holding) {
      this.#applied = true;
      return;
    }
    this.#applied = true;
    this.#flush();
  }

  /** Ends the hold of a first offer's local candidates and runs what was held, in order. */
  release(): void {
    if (!this.#holding) return;
    this.#holding = false;
    if (!this.#applied) return;
    this.#flush();
  }

  /** The connection closed: nothing queued runs. */
  clear(): void {
    this.#pending.length = 0;
  }

  #flush(): void {
    for (const event of this.#pending.splice(0)) {
      if (this.#isClosed()) return;
      event();
    }
  }
}
