import type { PeerConnection as NativePeerConnection } from 'node-datachannel';
import { operationError } from './dom-errors.js';
import { extractCandidates } from './sdp.js';

/**
 * Every description node-datachannel is given, checked against libdatachannel's own rules
 * first. Its `setLocalDescription` is the one native call that does not turn a C++ exception
 * into a JavaScript error: what libdatachannel throws there ends the process (`std::terminate`).
 * Its rules:
 *
 * - a local `offer` only in `stable`, an `answer` only in `have-remote-offer` (else
 *   `std::logic_error` "Unexpected local description type …"); a remote offer only in `stable`;
 * - its answers are final: a `pranswer` takes it to `stable` like an answer;
 * - a connection it closed itself (its transports closed, the remote side went away) takes
 *   descriptions without error and without a change of state.
 *
 * What they refuse is rejected here, before the call, with `OperationError`: the peer connection
 * checks the signalling state the spec defines first, with `InvalidStateError`, so a refusal
 * here means node-datachannel was left elsewhere.
 */
export class NativeDescriptions {
  readonly #native: NativePeerConnection;
  /** The SDP node-datachannel was given for the pending remote offer, `''` without one. */
  #remoteOffer = '';
  /** The answer node-datachannel created (and applied) for the pending remote offer. */
  #answer: string | undefined;

  constructor(native: NativePeerConnection) {
    this.#native = native;
  }

  /** node-datachannel's signalling state. */
  get state(): string {
    return this.#native.signalingState();
  }

  /** The answer to the pending remote offer was created: it can no longer be rolled back. */
  get answered(): boolean {
    return this.#answer !== undefined;
  }

  /** Creates and applies a local offer; returns its SDP. A stale native offer goes first. */
  offer(): string {
    this.discardUnappliedOffer();
    // A remote offer that failed half-way in node-datachannel left it there.
    if (this.state === 'have-remote-offer') this.rollbackRemote();
    this.#setLocal('offer');
    return this.#native.localDescription()?.sdp ?? '';
  }

  /** The answer to the pending remote offer: created (and applied natively) once, then reused. */
  answer(): string {
    if (this.#answer === undefined) {
      this.#setLocal('answer');
      this.#answer = this.#native.localDescription()?.sdp ?? '';
    }
    return this.#answer;
  }

  /** The local answer was applied by the peer connection: the next offer starts afresh. */
  answerApplied(): void {
    this.#answer = undefined;
  }

  /** A native offer that was created but not applied is dropped. Returns whether there was one. */
  discardUnappliedOffer(): boolean {
    if (this.state !== 'have-local-offer') return false;
    this.#native.setLocalDescription('rollback');
    return true;
  }

  /**
   * Applies a remote offer. It replaces a pending one (node-datachannel takes an offer only in
   * `stable`), which node-datachannel gets back if it refuses the new one.
   */
  applyRemoteOffer(sdp: string, beforeApply: () => void): void {
    const replaced = this.state === 'have-remote-offer' ? this.#remoteOffer : '';
    if (replaced !== '') this.rollbackRemote();
    try {
      beforeApply();
      this.#native.setRemoteDescription(sdp, 'offer');
      if (this.state !== 'have-remote-offer') throw new Error(`it stayed in ${this.state}`);
    } catch (err) {
      if (replaced !== '') this.#restoreRemoteOffer(replaced);
      throw operationError('failed to set the remote offer', err);
    }
    this.#remoteOffer = sdp;
    this.#answer = undefined;
  }

  /**
   * Applies a remote answer. After a provisional answer node-datachannel is stable already, so
   * the final answer must be the provisional one (`provisional`, candidates aside).
   */
  applyRemoteAnswer(sdp: string, provisional: string | null): void {
    if (this.state !== 'have-local-offer') {
      if (
        provisional !== null &&
        extractCandidates(sdp).sdp === extractCandidates(provisional).sdp
      ) {
        return;
      }
      throw operationError(
        'failed to set the remote answer',
        'node-datachannel cannot apply a final answer that differs from the provisional one',
      );
    }
    try {
      this.#native.setRemoteDescription(sdp, 'answer');
    } catch (err) {
      throw operationError('failed to set the remote answer', err);
    }
  }

  /** Takes node-datachannel from `have-remote-offer` back to `stable`. */
  rollbackRemote(): void {
    try {
      this.#native.setRemoteDescription('', 'rollback');
    } catch (err) {
      throw operationError('failed to roll back the remote offer', err);
    }
    this.#remoteOffer = '';
  }

  #restoreRemoteOffer(sdp: string): void {
    try {
      this.#native.setRemoteDescription(sdp, 'offer');
      this.#remoteOffer = sdp;
    } catch {
      // It stays stable: the answer then rejects with OperationError.
    }
  }

  #setLocal(type: 'offer' | 'answer'): void {
    const state = this.state;
    if (type === 'offer' ? state !== 'stable' : state !== 'have-remote-offer') {
      throw new DOMException(
        `cannot create a local ${type}: node-datachannel is in ${state}`,
        'OperationError',
      );
    }
    try {
      this.#native.setLocalDescription(type);
    } catch (err) {
      throw operationError(`failed to create the local ${type}`, err);
    }
    if (this.state !== (type === 'offer' ? 'have-local-offer' : 'stable')) {
      throw operationError(`failed to create the local ${type}`, 'node-datachannel ignored it');
    }
  }
}
