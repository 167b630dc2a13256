import {
  rtcDescriptionPayload,
  rtcIcePayload,
  type RtcDescriptionSignal,
  type RtcIceSignal,
} from '@metered/protocol';
import { IceCandidateError, NegotiationError } from './events.js';
import {
  MAX_CANDIDATES_PER_NEGOTIATION as maxCandidatesPerNegotiation,
  MAX_CANDIDATE_LENGTH as maxCandidateLength,
} from './options.js';
import type { RemotePeerHost } from './remote-peer.js';
import type { IceCandidateLike, RTCPeerConnectionLike } from './rtc-types.js';

/** What a {@link PerfectNegotiation} needs from the remote peer that owns the connection. */
export interface PerfectNegotiationOwner {
  /** The remote peer closed for good. */
  isClosed(): boolean;
  /** An ICE restart's offer waits for its answer: the next offer restarts ICE as well. */
  restartPending(): boolean;
  /**
   * The other side may not be there to receive an offer (the signalling dropped and its presence
   * is not confirmed again): the offer waits for {@link PerfectNegotiation.resume}.
   */
  offersDeferred(): boolean;
  /** This side makes an offer or answers one. */
  started(): void;
  /** A local description is about to go out (its SDP may announce tracks under other ids). */
  describing(sdp: string | undefined): void;
  /** A remote description was applied. */
  applied(): void;
  /** A failure to report as an event. */
  failed(event: NegotiationError | IceCandidateError): void;
}

/**
 * The perfect negotiation pattern on one peer connection: offers on `negotiationneeded`, the
 * polite side yields on an offer collision (rolls back its own), the impolite side ignores the
 * other's offer. Inbound descriptions and candidates apply in order; local candidates gathered
 * while a description is being set go out after it. Built for each connection (it installs the
 * connection's `negotiationneeded` and `icecandidate` handlers) and detached when the connection
 * is replaced.
 */
export class PerfectNegotiation {
  readonly #pc: RTCPeerConnectionLike;
  readonly #polite: boolean;
  readonly #peerId: string;
  /** This side's id for the connection, sent with every description and candidate. */
  readonly #connectionId: string;
  readonly #host: RemotePeerHost;
  readonly #owner: PerfectNegotiationOwner;
  #current = true;
  #makingOffer = false;
  #ignoreOffer = false;
  #settingRemoteAnswer = false;
  #inbound: Promise<void> = Promise.resolve();
  #heldCandidates: (IceCandidateLike | null)[] | undefined;
  #candidateCount = 0;
  /** An offer was due while offers were deferred. */
  #offerDue = false;

  constructor(
    pc: RTCPeerConnectionLike,
    polite: boolean,
    peerId: string,
    connectionId: string,
    host: RemotePeerHost,
    owner: PerfectNegotiationOwner,
  ) {
    this.#pc = pc;
    this.#polite = polite;
    this.#peerId = peerId;
    this.#connectionId = connectionId;
    this.#host = host;
    this.#owner = owner;
    pc.onnegotiationneeded = () => void this.#negotiate();
    pc.onicecandidate = ({ candidate }) => {
      if (!this.#current) return;
      if (this.#heldCandidates) this.#heldCandidates.push(candidate);
      else this.#sendCandidate(candidate);
    };
  }

  /** The connection was replaced: nothing still in flight touches the owner any more. */
  detach(): void {
    this.#current = false;
  }

  /** A description or candidate from the remote peer, applied after those before it. */
  receive(signal: RtcDescriptionSignal | RtcIceSignal): void {
    this.#inbound = this.#inbound.then(() =>
      this.#live()
        ? signal.type === 'rtc-description'
          ? this.#applyDescription(signal.description)
          : this.#applyCandidate(signal.candidate)
        : undefined,
    );
  }

  /** An offer with fresh ICE credentials; an earlier offer still unanswered is rolled back first. */
  async restartIce(): Promise<void> {
    const pc = this.#pc;
    if (pc.signalingState === 'have-local-offer' && !this.#makingOffer) {
      try {
        await pc.setLocalDescription({ type: 'rollback' });
      } catch (error) {
        this.#host.log('debug', `rollback before ICE restart failed: ${String(error)}`);
      }
    }
    if (pc.signalingState === 'stable') await this.#negotiate(true);
  }

  /**
   * The other side is confirmed there again after a signalling reconnect. An offer deferred
   * meanwhile is made now. An offer of ours still waiting for its answer may have been lost with
   * the old socket, so it goes out again (the same description; the other side answers it, or
   * ignores it when it already did).
   */
  resume(): void {
    if (this.#offerDue) {
      this.#offerDue = false;
      void this.#negotiate();
      return;
    }
    const local = this.#pc.localDescription;
    if (this.#makingOffer || this.#pc.signalingState !== 'have-local-offer' || !local) return;
    if (local.type === 'offer') this.#sendDescription('offer', local.sdp);
  }

  #sendDescription(type: 'offer' | 'answer', sdp: string | undefined): void {
    this.#signal(rtcDescriptionPayload({ type, sdp: sdp ?? '' }, this.#connectionId));
  }

  /** The connection is still the owner's and the owner is not closed. */
  #live(): boolean {
    return this.#current && !this.#owner.isClosed();
  }

  #signal(payload: unknown): void {
    this.#host.signal(this.#peerId, payload);
  }

  async #negotiate(iceRestart = false): Promise<void> {
    const pc = this.#pc;
    if (!this.#live() || this.#makingOffer) return;
    if (this.#owner.offersDeferred()) {
      this.#offerDue = true;
      return;
    }
    const restart = iceRestart || this.#owner.restartPending();
    try {
      this.#makingOffer = true;
      this.#heldCandidates ??= [];
      this.#owner.started();
      const offer = await pc.createOffer(restart ? { iceRestart: true } : undefined);
      // Abandoned: a remote offer was applied meanwhile.
      if (!this.#current || pc.signalingState !== 'stable') return;
      await pc.setLocalDescription(offer);
      if (!this.#current) return;
      const local = pc.localDescription ?? offer;
      if (local.type === 'offer') {
        this.#owner.describing(local.sdp);
        this.#sendDescription('offer', local.sdp);
      }
    } catch (error) {
      if (this.#live()) this.#owner.failed(new NegotiationError({ err: error }));
    } finally {
      if (this.#current) {
        this.#makingOffer = false;
        this.#flushCandidates();
      }
    }
  }

  async #applyDescription(description: RtcDescriptionSignal['description']): Promise<void> {
    const pc = this.#pc;
    const readyForOffer =
      !this.#makingOffer && (pc.signalingState === 'stable' || this.#settingRemoteAnswer);
    const collision = description.type === 'offer' && !readyForOffer;
    this.#ignoreOffer = !this.#polite && collision;
    if (this.#ignoreOffer) {
      this.#host.log('debug', `offer from ${this.#peerId} ignored (collision, impolite)`);
      return;
    }
    if (description.type === 'answer' && pc.signalingState !== 'have-local-offer') {
      this.#host.log('debug', `answer from ${this.#peerId} ignored in ${pc.signalingState}`);
      return;
    }
    try {
      this.#settingRemoteAnswer = description.type === 'answer';
      if (collision && pc.signalingState === 'have-local-offer') {
        await pc.setLocalDescription({ type: 'rollback' });
      }
      if (!this.#current) return;
      await pc.setRemoteDescription(description);
      this.#settingRemoteAnswer = false;
      if (!this.#current) return;
      this.#candidateCount = 0;
      this.#owner.applied();
      if (description.type === 'offer') {
        this.#owner.started();
        this.#heldCandidates ??= [];
        const answer = await pc.createAnswer();
        if (!this.#current) return;
        await pc.setLocalDescription(answer);
        if (!this.#current) return;
        const local = pc.localDescription ?? answer;
        this.#owner.describing(local.sdp);
        this.#sendDescription('answer', local.sdp);
        this.#flushCandidates();
      }
    } catch (error) {
      this.#settingRemoteAnswer = false;
      if (this.#live()) {
        this.#flushCandidates();
        this.#owner.failed(new NegotiationError({ err: error }));
      }
    }
  }

  async #applyCandidate(candidate: IceCandidateLike | null): Promise<void> {
    if (candidate) {
      if ((candidate.candidate?.length ?? 0) > maxCandidateLength) return;
      if (++this.#candidateCount > maxCandidatesPerNegotiation) return;
    }
    try {
      await this.#pc.addIceCandidate(candidate);
    } catch (error) {
      if (!this.#ignoreOffer && this.#live()) {
        this.#owner.failed(new IceCandidateError({ err: error }));
      }
    }
  }

  #sendCandidate(candidate: IceCandidateLike | null): void {
    const init = candidate?.toJSON ? candidate.toJSON() : candidate;
    this.#signal(rtcIcePayload(init ?? null, this.#connectionId));
  }

  /** Candidates gathered while a description was being set go out after it. */
  #flushCandidates(): void {
    if (this.#makingOffer) return;
    const held = this.#heldCandidates;
    this.#heldCandidates = undefined;
    for (const candidate of held ?? []) this.#sendCandidate(candidate);
  }
}
