// About 545 lines: the `RTCPeerConnection` surface (properties, events, every method a browser
// has) and the offer/answer state machine as the spec defines it (signalling state, the four
// descriptions, implicit and explicit rollback, pranswer), which every description method reads
// and writes. What hangs off it lives next to it: `native-descriptions.ts` (every description
// node-datachannel is given, checked against its rules), `m-line-association.ts` (transceivers
// and their m-lines, `track` events), `local-candidates.ts` and `local-candidate-hold.ts` (our
// candidates, and the first offer's hold), `remote-candidate-hold.ts` (the remote candidates,
// and the answerer's hold), `negotiation-needed.ts` (the operations chain), `stats.ts`.
import { PeerConnection as NativePeerConnection } from 'node-datachannel';
import { checkBindAddress, toNativeConfig, type NodeRTCConfiguration } from './configuration.js';
import {
  applicationRefused,
  negotiatedWithoutApplication,
  offerWithApplication,
} from './application-section.js';
import { NodeRTCDataChannel, type RTCDataChannelInitLike } from './data-channel.js';
import { invalidState, operationError } from './dom-errors.js';
import {
  NodeRTCDataChannelEvent,
  type NodeRTCPeerConnectionIceEvent,
  type NodeRTCTrackEvent,
  emit,
  type NodeEventHandler,
} from './events.js';
import type { RTCIceCandidateInitLike } from './ice-candidate.js';
import { LocalCandidateHold } from './local-candidate-hold.js';
import { LocalCandidates } from './local-candidates.js';
import { MLineAssociation } from './m-line-association.js';
import { nativeCallback } from './native-callback.js';
import { NativeDescriptions } from './native-descriptions.js';
import type { NodeMediaStream, NodeMediaStreamTrack } from './media-stream-track.js';
import { NegotiationNeeded } from './negotiation-needed.js';
import { RemoteCandidateHold } from './remote-candidate-hold.js';
import { hasActiveApplication } from './sdp.js';
import type {
  NodeRTCRtpReceiver,
  NodeRTCRtpSender,
  NodeRTCRtpTransceiver,
} from './rtp-transceiver.js';
import {
  NodeRTCSessionDescription,
  type RTCSessionDescriptionInitLike,
} from './session-description.js';
import { collectStats, type NodeRTCStats } from './stats.js';

/** The signalling states of `RTCPeerConnection`. */
export type RTCSignalingStateLike =
  | 'stable'
  | 'have-local-offer'
  | 'have-remote-offer'
  | 'have-local-pranswer'
  | 'have-remote-pranswer'
  | 'closed';
/** The connection states of `RTCPeerConnection`. */
export type RTCPeerConnectionStateLike =
  'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';
/** The ICE connection states of `RTCPeerConnection`. */
export type RTCIceConnectionStateLike =
  'new' | 'checking' | 'connected' | 'completed' | 'disconnected' | 'failed' | 'closed';
/** The ICE gathering states of `RTCPeerConnection`. */
export type RTCIceGatheringStateLike = 'new' | 'gathering' | 'complete';

/** Options of `createOffer` / `createAnswer`. */
export interface RTCOfferOptionsLike {
  iceRestart?: boolean;
  offerToReceiveAudio?: boolean;
  offerToReceiveVideo?: boolean;
}

/**
 * An `RTCPeerConnection` for Node.js over node-datachannel's native API: the standard
 * offer/answer model (including the implicit `setLocalDescription()`, implicit rollback and
 * perfect negotiation), trickle ICE with browser-style candidates, data channels and RTP media.
 */
export class RTCPeerConnection extends EventTarget {
  onnegotiationneeded: NodeEventHandler<RTCPeerConnection> = null;
  onicecandidate: NodeEventHandler<RTCPeerConnection, NodeRTCPeerConnectionIceEvent> = null;
  onicecandidateerror: NodeEventHandler<RTCPeerConnection> = null;
  onconnectionstatechange: NodeEventHandler<RTCPeerConnection> = null;
  oniceconnectionstatechange: NodeEventHandler<RTCPeerConnection> = null;
  onicegatheringstatechange: NodeEventHandler<RTCPeerConnection> = null;
  onsignalingstatechange: NodeEventHandler<RTCPeerConnection> = null;
  ondatachannel: NodeEventHandler<RTCPeerConnection, NodeRTCDataChannelEvent> = null;
  ontrack: NodeEventHandler<RTCPeerConnection, NodeRTCTrackEvent> = null;

  readonly #native: NativePeerConnection;
  readonly #nativeDescriptions: NativeDescriptions;
  #configuration: NodeRTCConfiguration;
  #closed = false;

  #signalingState: RTCSignalingStateLike = 'stable';
  #connectionState: RTCPeerConnectionStateLike = 'new';
  #iceConnectionState: RTCIceConnectionStateLike = 'new';

  #currentLocal: NodeRTCSessionDescription | null = null;
  #pendingLocal: NodeRTCSessionDescription | null = null;
  #currentRemote: NodeRTCSessionDescription | null = null;
  #pendingRemote: NodeRTCSessionDescription | null = null;

  /** Local ICE events wait for a local description, and a first offer's for its answer. */
  readonly #localIce = new LocalCandidateHold(() => this.#closed);
  readonly #remoteCandidates: RemoteCandidateHold;
  readonly #localCandidates: LocalCandidates;
  readonly #negotiation = new NegotiationNeeded({
    // node-datachannel closes a connection whose transports closed (the remote side closed):
    // it then takes descriptions without a word and without changing state, so none is given.
    isClosed: () => this.#closed || this.#native.state() === 'closed',
    isStable: () => this.#signalingState === 'stable',
    fire: () => emit(this, new Event('negotiationneeded')),
  });

  readonly #dataChannels = new Set<NodeRTCDataChannel>();
  readonly #mLines: MLineAssociation;

  constructor(configuration: NodeRTCConfiguration = {}) {
    super();
    this.#configuration = { ...configuration };
    checkBindAddress(configuration.bindAddress);
    this.#native = new NativePeerConnection('peer', toNativeConfig(configuration));
    const native = this.#native;
    this.#nativeDescriptions = new NativeDescriptions(native);
    this.#remoteCandidates = new RemoteCandidateHold({
      native,
      remoteSdp: () => this.remoteDescription?.sdp ?? '',
      isClosed: () => this.#closed,
    });
    this.#mLines = new MLineAssociation({ host: this, native, isClosed: () => this.#closed });
    this.#localCandidates = new LocalCandidates({
      target: this,
      native,
      isClosed: () => this.#closed,
      localSdp: () => this.localDescription?.sdp ?? '',
      hold: this.#localIce,
    });
    native.onStateChange(nativeCallback((state) => this.#onStateChange(state)));
    native.onIceStateChange(nativeCallback((state) => this.#onIceStateChange(state)));
    native.onGatheringStateChange(
      nativeCallback((state) => this.#localCandidates.onGatheringStateChange(state)),
    );
    native.onLocalCandidate(
      nativeCallback((candidate, mid) => this.#localCandidates.onLocalCandidate(candidate, mid)),
    );
    native.onDataChannel(nativeCallback((channel) => this.#onDataChannel(channel)));
    native.onTrack(nativeCallback((track) => this.#mLines.onNativeTrack(track)));
  }

  // ── state ────────────────────────────────────────────────────────────────────────────────

  get signalingState(): RTCSignalingStateLike {
    return this.#signalingState;
  }
  get connectionState(): RTCPeerConnectionStateLike {
    return this.#connectionState;
  }
  get iceConnectionState(): RTCIceConnectionStateLike {
    return this.#iceConnectionState;
  }
  get iceGatheringState(): RTCIceGatheringStateLike {
    return this.#localCandidates.gatheringState;
  }
  get localDescription(): NodeRTCSessionDescription | null {
    return this.#pendingLocal ?? this.#currentLocal;
  }
  get currentLocalDescription(): NodeRTCSessionDescription | null {
    return this.#currentLocal;
  }
  get pendingLocalDescription(): NodeRTCSessionDescription | null {
    return this.#pendingLocal;
  }
  get remoteDescription(): NodeRTCSessionDescription | null {
    return this.#pendingRemote ?? this.#currentRemote;
  }
  get currentRemoteDescription(): NodeRTCSessionDescription | null {
    return this.#currentRemote;
  }
  get pendingRemoteDescription(): NodeRTCSessionDescription | null {
    return this.#pendingRemote;
  }
  get canTrickleIceCandidates(): boolean | null {
    return this.remoteDescription === null ? null : true;
  }

  getConfiguration(): NodeRTCConfiguration {
    return { ...this.#configuration };
  }

  /**
   * Stores the new configuration. node-datachannel cannot change the ICE servers of a live
   * agent: the stored servers are what `getConfiguration` returns.
   */
  setConfiguration(configuration: NodeRTCConfiguration = {}): void {
    if (this.#closed) throw invalidState('the peer connection is closed');
    this.#configuration = { ...this.#configuration, ...configuration };
  }

  // ── offer / answer ───────────────────────────────────────────────────────────────────────

  createOffer(_options?: RTCOfferOptionsLike): Promise<NodeRTCSessionDescription> {
    return this.#negotiation.enqueue(() => {
      if (this.#signalingState !== 'stable' && this.#signalingState !== 'have-local-offer') {
        throw invalidState(`cannot create an offer in ${this.#signalingState}`);
      }
      return new NodeRTCSessionDescription({ type: 'offer', sdp: this.#makeOffer() });
    });
  }

  createAnswer(_options?: RTCOfferOptionsLike): Promise<NodeRTCSessionDescription> {
    return this.#negotiation.enqueue(
      () => new NodeRTCSessionDescription({ type: 'answer', sdp: this.#makeAnswer() }),
    );
  }

  setLocalDescription(description?: RTCSessionDescriptionInitLike): Promise<void> {
    return this.#negotiation.enqueue(() => {
      const answering =
        this.#signalingState === 'have-remote-offer' ||
        this.#signalingState === 'have-local-pranswer';
      const type = description?.type ?? (answering ? 'answer' : 'offer');
      switch (type) {
        case 'rollback':
          this.#rollback();
          return;
        case 'offer': {
          if (this.#signalingState !== 'stable' && this.#signalingState !== 'have-local-offer') {
            throw invalidState(`cannot set a local offer in ${this.#signalingState}`);
          }
          const sdp = this.#localIce.holdOffer(this.#makeOffer(), this.#iceConnectionState);
          this.#pendingLocal = new NodeRTCSessionDescription({ type: 'offer', sdp });
          this.#setSignalingState('have-local-offer');
          this.#localIce.descriptionApplied();
          return;
        }
        case 'answer':
        case 'pranswer': {
          if (
            this.#signalingState !== 'have-remote-offer' &&
            this.#signalingState !== 'have-local-pranswer'
          ) {
            throw invalidState(`cannot set a local ${type} in ${this.#signalingState}`);
          }
          const sdp = this.#makeAnswer();
          if (type === 'pranswer') {
            // node-datachannel's answer is final: the provisional one is that answer, kept.
            this.#pendingLocal = new NodeRTCSessionDescription({ type, sdp });
            this.#setSignalingState('have-local-pranswer');
          } else {
            this.#nativeDescriptions.answerApplied();
            this.#currentLocal = new NodeRTCSessionDescription({ type: 'answer', sdp });
            this.#currentRemote = this.#pendingRemote;
            this.#pendingLocal = null;
            this.#pendingRemote = null;
            this.#setSignalingState('stable');
          }
          this.#localIce.descriptionApplied();
          return;
        }
        default:
          throw new TypeError(`unknown description type ${String(type)}`);
      }
    });
  }

  setRemoteDescription(description: RTCSessionDescriptionInitLike): Promise<void> {
    return this.#negotiation.enqueue(() => {
      switch (description.type) {
        case 'rollback':
          this.#rollback();
          return;
        case 'offer': {
          const sdp = description.sdp ?? '';
          if (negotiatedWithoutApplication(this.#currentLocal?.sdp) && hasActiveApplication(sdp)) {
            throw applicationRefused();
          }
          if (this.#signalingState === 'have-local-offer') this.#rollbackLocal();
          else if (
            this.#signalingState !== 'stable' &&
            this.#signalingState !== 'have-remote-offer'
          ) {
            throw invalidState(`cannot set a remote offer in ${this.#signalingState}`);
          }
          this.#discardUnappliedOffer();
          const nativeSdp = this.#remoteCandidates.holdOffer(sdp, this.#iceConnectionState);
          this.#nativeDescriptions.applyRemoteOffer(nativeSdp, () =>
            this.#mLines.associateWithOffer(sdp),
          );
          this.#pendingRemote = new NodeRTCSessionDescription({ type: 'offer', sdp });
          this.#setSignalingState('have-remote-offer');
          this.#remoteCandidates.addPending();
          this.#mLines.announceRemoteTracks();
          return;
        }
        case 'answer':
        case 'pranswer': {
          const { type } = description;
          if (
            this.#signalingState !== 'have-local-offer' &&
            this.#signalingState !== 'have-remote-pranswer'
          ) {
            throw invalidState(`cannot set a remote ${type} in ${this.#signalingState}`);
          }
          const sdp = description.sdp ?? '';
          this.#nativeDescriptions.applyRemoteAnswer(sdp, this.#pendingRemote?.sdp ?? null);
          if (type === 'pranswer') {
            this.#pendingRemote = new NodeRTCSessionDescription({ type, sdp });
            this.#setSignalingState('have-remote-pranswer');
          } else {
            this.#currentRemote = new NodeRTCSessionDescription({ type: 'answer', sdp });
            this.#currentLocal = this.#pendingLocal;
            this.#pendingLocal = null;
            this.#pendingRemote = null;
            this.#setSignalingState('stable');
          }
          this.#remoteCandidates.addPending();
          this.#localIce.release();
          this.#mLines.announceRemoteTracks();
          return;
        }
        case undefined:
        default:
          throw new TypeError(`unknown description type ${String(description.type)}`);
      }
    });
  }

  /**
   * Adds a remote candidate (with or without the `a=` prefix). `null`, `undefined` or an empty
   * candidate marks the end of candidates. Candidates that arrive before the remote
   * description are kept and added with it.
   */
  addIceCandidate(candidate?: RTCIceCandidateInitLike | null): Promise<void> {
    return this.#negotiation.enqueue(() => {
      if (candidate == null || candidate.candidate === undefined || candidate.candidate === '') {
        return;
      }
      if (this.remoteDescription === null || this.#remoteCandidates.holding) {
        this.#remoteCandidates.queue(candidate);
        return;
      }
      this.#remoteCandidates.add(candidate, true);
    });
  }

  /** Starts a new negotiation. node-datachannel keeps its ICE credentials (see the README). */
  restartIce(): void {
    if (this.#closed) return;
    this.#negotiation.mark();
  }

  // ── data channels and media ──────────────────────────────────────────────────────────────

  createDataChannel(label: string, init: RTCDataChannelInitLike = {}): NodeRTCDataChannel {
    if (this.#closed) throw invalidState('the peer connection is closed');
    if (negotiatedWithoutApplication(this.#currentLocal?.sdp)) throw applicationRefused();
    const needsNegotiation = !this.#hasApplicationSection();
    const native = this.#native.createDataChannel(String(label), {
      ...(init.protocol === undefined ? {} : { protocol: init.protocol }),
      ...(init.negotiated === undefined ? {} : { negotiated: init.negotiated }),
      ...(init.id === undefined ? {} : { id: init.id }),
      ...(init.ordered === false ? { unordered: true } : {}),
      ...(init.maxPacketLifeTime === undefined
        ? {}
        : { maxPacketLifeTime: init.maxPacketLifeTime }),
      ...(init.maxRetransmits === undefined ? {} : { maxRetransmits: init.maxRetransmits }),
    });
    const channel = this.#track(new NodeRTCDataChannel(native, init));
    if (needsNegotiation) this.#negotiation.mark();
    return channel;
  }

  addTrack(track: NodeMediaStreamTrack, ...streams: NodeMediaStream[]): NodeRTCRtpSender {
    if (this.#closed) throw invalidState('the peer connection is closed');
    if (this.#mLines.transceivers.some((transceiver) => transceiver.sender.track === track)) {
      throw new DOMException('the track is already being sent', 'InvalidAccessError');
    }
    const sender = this.#mLines.senderFor(track, streams);
    this.#negotiation.mark();
    return sender;
  }

  removeTrack(sender: NodeRTCRtpSender): void {
    if (this.#closed) throw invalidState('the peer connection is closed');
    const transceiver = this.#mLines.transceivers.find((candidate) => candidate.sender === sender);
    if (transceiver === undefined || sender.track === null) return;
    sender._setTrack(null);
    this.#negotiation.mark();
  }

  getSenders(): NodeRTCRtpSender[] {
    return this.#mLines.transceivers.filter((t) => !t.stopped).map((t) => t.sender);
  }

  getReceivers(): NodeRTCRtpReceiver[] {
    return this.#mLines.transceivers.filter((t) => !t.stopped).map((t) => t.receiver);
  }

  getTransceivers(): NodeRTCRtpTransceiver[] {
    return [...this.#mLines.transceivers];
  }

  // ── stats and lifetime ───────────────────────────────────────────────────────────────────

  /** A `Map` of stats: transport, candidate pair and candidates, data channels, RTP streams. */
  getStats(): Promise<Map<string, NodeRTCStats>> {
    return Promise.resolve(
      collectStats({
        native: this.#native,
        closed: this.#closed,
        connectionState: this.#connectionState,
        iceConnectionState: this.#iceConnectionState,
        dataChannels: this.#dataChannels,
        transceivers: this.#mLines.transceivers,
      }),
    );
  }

  /**
   * Closes every channel and track and frees the native peer connection. Idempotent; fires no
   * state events (as in browsers).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signalingState = 'closed';
    this.#connectionState = 'closed';
    this.#iceConnectionState = 'closed';
    this.#localIce.clear();
    this.#remoteCandidates.clear();
    for (const channel of this.#dataChannels) channel._dispose();
    this.#dataChannels.clear();
    this.#mLines.close();
    this.#remoteCandidates.stop();
    this.#native.close();
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────

  /** Generates (or reuses) the native offer. */
  #makeOffer(): string {
    if (
      this.#nativeDescriptions.state === 'have-local-offer' &&
      this.#signalingState === 'have-local-offer'
    ) {
      return this.#native.localDescription()?.sdp ?? this.#pendingLocal?.sdp ?? '';
    }
    if (
      !this.#hasApplicationSection() &&
      this.#dataChannels.size === 0 &&
      this.#mLines.transceivers.length === 0
    ) {
      // node-datachannel aborts the process on an offer with nothing in it.
      throw invalidState('nothing to negotiate: create a data channel or add a track first');
    }
    try {
      this.#mLines.associateForOffer();
    } catch (err) {
      throw operationError('failed to add a track to the offer', err);
    }
    const sdp =
      this.#currentLocal === null && !this.#hasApplicationSection()
        ? offerWithApplication(this.#native, () => this.#nativeDescriptions.offer())
        : this.#nativeDescriptions.offer();
    this.#negotiation.needed = false;
    return sdp;
  }

  /** Generates (or reuses) the native answer to the pending remote offer. */
  #makeAnswer(): string {
    if (
      this.#signalingState !== 'have-remote-offer' &&
      this.#signalingState !== 'have-local-pranswer'
    ) {
      throw invalidState(`cannot create an answer in ${this.#signalingState}`);
    }
    return this.#nativeDescriptions.answer();
  }

  /** A native offer was generated by `createOffer` but never applied: drop it. */
  #discardUnappliedOffer(): void {
    if (this.#nativeDescriptions.discardUnappliedOffer()) this.#negotiation.needed = true;
  }

  /** `rollback`, local or remote alike: back to `stable` from a pending offer (as browsers). */
  #rollback(): void {
    if (this.#signalingState === 'have-local-offer') this.#rollbackLocal();
    else if (this.#signalingState === 'have-remote-offer') this.#rollbackRemote();
    else throw invalidState(`nothing to roll back in ${this.#signalingState}`);
  }

  #rollbackLocal(): void {
    this.#discardUnappliedOffer();
    this.#pendingLocal = null;
    this.#localIce.release();
    this.#mLines.unassociateUnnegotiated();
    // The offer's changes are still to be negotiated.
    this.#negotiation.needed = true;
    this.#setSignalingState('stable');
  }

  #rollbackRemote(): void {
    if (this.#nativeDescriptions.answered) {
      throw invalidState('cannot roll back a remote offer once its answer was created');
    }
    this.#nativeDescriptions.rollbackRemote();
    this.#pendingRemote = null;
    this.#setSignalingState('stable');
  }

  #setSignalingState(state: RTCSignalingStateLike): void {
    if (this.#signalingState === state) return;
    this.#signalingState = state;
    emit(this, new Event('signalingstatechange'));
    if (state === 'stable') this.#negotiation.maybeFire();
  }

  #hasApplicationSection(): boolean {
    const sdp = this.localDescription?.sdp ?? this.remoteDescription?.sdp ?? '';
    return /^m=application/m.test(sdp) || this.#dataChannels.size > 0;
  }

  #track(channel: NodeRTCDataChannel): NodeRTCDataChannel {
    this.#dataChannels.add(channel);
    channel.addEventListener('close', () => this.#dataChannels.delete(channel), { once: true });
    return channel;
  }

  // ── native callbacks ─────────────────────────────────────────────────────────────────────

  #onStateChange(state: string): void {
    if (this.#closed || state === this.#connectionState) return;
    if (!['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed'].includes(state)) {
      return;
    }
    this.#connectionState = state as RTCPeerConnectionStateLike;
    emit(this, new Event('connectionstatechange'));
  }

  #onIceStateChange(state: string): void {
    if (this.#closed || state === this.#iceConnectionState) return;
    if (state === 'connected' || state === 'completed' || state === 'failed') {
      this.#remoteCandidates.release();
    }
    this.#iceConnectionState = state as RTCIceConnectionStateLike;
    emit(this, new Event('iceconnectionstatechange'));
  }

  #onDataChannel(
    native: Parameters<Parameters<NativePeerConnection['onDataChannel']>[0]>[0],
  ): void {
    if (this.#closed) {
      native.close();
      return;
    }
    const channel = this.#track(new NodeRTCDataChannel(native));
    emit(this, new NodeRTCDataChannelEvent('datachannel', { channel }));
    channel._announceOpen();
  }
}

/** Creates a peer connection: the `rtcPeerConnectionFactory` option of `MeteredPeer` on Node. */
export function rtcPeerConnectionFactory(configuration?: NodeRTCConfiguration): RTCPeerConnection {
  return new RTCPeerConnection(configuration);
}
