import { randomInt } from 'node:crypto';
import {
  Audio,
  PeerConnection as NativePeerConnection,
  Video,
  type Track as NativeTrack,
} from 'node-datachannel';
import { toNativeConfig, type NodeRTCConfiguration } from './configuration.js';
import { NodeRTCDataChannel, type RTCDataChannelInitLike } from './data-channel.js';
import {
  NodeRTCDataChannelEvent,
  NodeRTCPeerConnectionIceEvent,
  NodeRTCTrackEvent,
  emit,
  type NodeEventHandler,
} from './events.js';
import { NodeRTCIceCandidate, type RTCIceCandidateInitLike } from './ice-candidate.js';
import { NodeMediaStream, NodeMediaStreamTrack, type MediaKind } from './media-stream-track.js';
import { isRtcpPacket } from './rtp.js';
import { NodeRTCRtpReceiver, NodeRTCRtpSender, NodeRTCRtpTransceiver } from './rtp-transceiver.js';
import {
  extractCandidates,
  iceUfragOf,
  mediaSections,
  type SdpCodec,
  type SdpMediaSection,
} from './sdp.js';
import {
  NodeRTCSessionDescription,
  type RTCSessionDescriptionInitLike,
} from './session-description.js';

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

/** One entry of `getStats()`. */
export interface NodeRTCStats {
  readonly id: string;
  readonly type: string;
  readonly timestamp: number;
  readonly [field: string]: unknown;
}

const VIDEO_PAYLOAD_TYPE = 96;
/** How long an answerer holds the offerer's candidates back at most (see below). */
const REMOTE_CANDIDATE_HOLD_MS = 250;
const AUDIO_PAYLOAD_TYPE = 111;

function invalidState(message: string): DOMException {
  return new DOMException(message, 'InvalidStateError');
}

function operationError(message: string, cause: unknown): DOMException {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new DOMException(`${message}: ${detail}`, 'OperationError');
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
  #configuration: NodeRTCConfiguration;
  #closed = false;

  #signalingState: RTCSignalingStateLike = 'stable';
  #connectionState: RTCPeerConnectionStateLike = 'new';
  #iceConnectionState: RTCIceConnectionStateLike = 'new';
  #iceGatheringState: RTCIceGatheringStateLike = 'new';

  #currentLocal: NodeRTCSessionDescription | null = null;
  #pendingLocal: NodeRTCSessionDescription | null = null;
  #currentRemote: NodeRTCSessionDescription | null = null;
  #pendingRemote: NodeRTCSessionDescription | null = null;
  /** The answer the native side generated in `createAnswer`, not yet applied here. */
  #nativeAnswer: string | undefined;

  /** Local ICE events wait until a local description was applied, as in browsers. */
  #localApplied = false;
  /**
   * Set while our first offer waits for its answer: local candidates are held back (out of the
   * offer's SDP and out of `icecandidate`) until the answer is applied. See `#localIce`.
   */
  #holdingLocalIce = false;
  readonly #pendingLocalIce: Array<() => void> = [];
  readonly #pendingRemoteCandidates: RTCIceCandidateInitLike[] = [];
  readonly #addedCandidates = new Set<string>();
  readonly #emittedCandidates = new Set<string>();
  #endOfCandidatesSent = false;

  #negotiationNeeded = false;
  #negotiationScheduled = false;
  #operations: Promise<unknown> = Promise.resolve();
  #pendingOperations = 0;

  readonly #dataChannels = new Set<NodeRTCDataChannel>();
  readonly #transceivers: NodeRTCRtpTransceiver[] = [];
  readonly #nativeTracks = new Map<NodeRTCRtpTransceiver, NativeTrack>();
  readonly #remoteStreams = new Map<string, NodeMediaStream>();
  /** Transceivers whose `track` event was fired. */
  readonly #announced = new WeakSet<NodeRTCRtpTransceiver>();
  /** Native tracks of a rolled-back offer, by mid, that no transceiver owns any more. */
  readonly #spareNatives = new Map<string, NativeTrack>();
  /**
   * Handles replaced by a newer one for the same native track. node-datachannel closes the
   * track when a handle is garbage-collected: they live as long as the connection.
   */
  readonly #retiredNatives: NativeTrack[] = [];
  #nextMid = 1;
  #holdTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(configuration: NodeRTCConfiguration = {}) {
    super();
    this.#configuration = { ...configuration };
    this.#native = new NativePeerConnection('peer', toNativeConfig(configuration));
    const native = this.#native;
    native.onStateChange((state) => this.#onStateChange(state));
    native.onIceStateChange((state) => this.#onIceStateChange(state));
    native.onGatheringStateChange((state) => this.#onGatheringStateChange(state));
    native.onLocalCandidate((candidate, mid) => this.#onLocalCandidate(candidate, mid));
    native.onDataChannel((channel) => this.#onDataChannel(channel));
    native.onTrack((track) => this.#onTrack(track));
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
    return this.#iceGatheringState;
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
    return this.#enqueue(
      () => new NodeRTCSessionDescription({ type: 'offer', sdp: this.#makeOffer() }),
    );
  }

  createAnswer(_options?: RTCOfferOptionsLike): Promise<NodeRTCSessionDescription> {
    return this.#enqueue(
      () => new NodeRTCSessionDescription({ type: 'answer', sdp: this.#makeAnswer() }),
    );
  }

  setLocalDescription(description?: RTCSessionDescriptionInitLike): Promise<void> {
    return this.#enqueue(() => {
      const type =
        description?.type ?? (this.#signalingState === 'have-remote-offer' ? 'answer' : 'offer');
      switch (type) {
        case 'rollback':
          this.#rollbackLocal();
          return;
        case 'offer': {
          if (this.#signalingState !== 'stable' && this.#signalingState !== 'have-local-offer') {
            throw invalidState(`cannot set a local offer in ${this.#signalingState}`);
          }
          let sdp = this.#makeOffer();
          if (this.#iceConnectionState === 'new' || this.#iceConnectionState === 'checking') {
            this.#holdingLocalIce = true;
            sdp = extractCandidates(sdp).sdp;
          }
          this.#pendingLocal = new NodeRTCSessionDescription({ type: 'offer', sdp });
          this.#setSignalingState('have-local-offer');
          this.#applyLocal();
          return;
        }
        case 'answer':
        case 'pranswer': {
          if (this.#signalingState !== 'have-remote-offer') {
            throw invalidState(`cannot set a local answer in ${this.#signalingState}`);
          }
          const sdp = this.#makeAnswer();
          this.#nativeAnswer = undefined;
          this.#currentLocal = new NodeRTCSessionDescription({ type: 'answer', sdp });
          this.#currentRemote = this.#pendingRemote;
          this.#pendingLocal = null;
          this.#pendingRemote = null;
          this.#setSignalingState('stable');
          this.#applyLocal();
          return;
        }
        default:
          throw new TypeError(`unknown description type ${String(type)}`);
      }
    });
  }

  setRemoteDescription(description: RTCSessionDescriptionInitLike): Promise<void> {
    return this.#enqueue(() => {
      switch (description.type) {
        case 'rollback':
          this.#rollbackRemote();
          return;
        case 'offer': {
          if (this.#signalingState === 'have-local-offer') this.#rollbackLocal();
          else if (
            this.#signalingState !== 'stable' &&
            this.#signalingState !== 'have-remote-offer'
          ) {
            throw invalidState(`cannot set a remote offer in ${this.#signalingState}`);
          }
          this.#discardUnappliedOffer();
          const sdp = description.sdp ?? '';
          let nativeSdp = sdp;
          if (this.#iceConnectionState === 'new' || this.#iceConnectionState === 'checking') {
            const extracted = extractCandidates(nativeSdp);
            nativeSdp = extracted.sdp;
            this.#holdRemoteCandidates();
            this.#pendingRemoteCandidates.push(...extracted.candidates);
          }
          this.#associateWithOffer(sdp);
          try {
            this.#native.setRemoteDescription(nativeSdp, 'offer');
          } catch (err) {
            throw operationError('failed to set the remote offer', err);
          }
          this.#nativeAnswer = undefined;
          this.#pendingRemote = new NodeRTCSessionDescription({ type: 'offer', sdp });
          this.#setSignalingState('have-remote-offer');
          this.#addPendingRemoteCandidates();
          this.#announceRemoteTracks();
          return;
        }
        case 'answer':
        case 'pranswer': {
          if (this.#signalingState !== 'have-local-offer') {
            throw invalidState(`cannot set a remote answer in ${this.#signalingState}`);
          }
          const sdp = description.sdp ?? '';
          try {
            this.#native.setRemoteDescription(sdp, 'answer');
          } catch (err) {
            throw operationError('failed to set the remote answer', err);
          }
          this.#currentRemote = new NodeRTCSessionDescription({ type: 'answer', sdp });
          this.#currentLocal = this.#pendingLocal;
          this.#pendingLocal = null;
          this.#pendingRemote = null;
          this.#setSignalingState('stable');
          this.#addPendingRemoteCandidates();
          this.#releaseLocalIce();
          this.#announceRemoteTracks();
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
    return this.#enqueue(() => {
      if (candidate == null || candidate.candidate === undefined || candidate.candidate === '') {
        return;
      }
      if (this.remoteDescription === null || this.#holdTimer !== undefined) {
        this.#pendingRemoteCandidates.push(candidate);
        return;
      }
      this.#addRemoteCandidate(candidate, true);
    });
  }

  /** Starts a new negotiation. node-datachannel keeps its ICE credentials (see the README). */
  restartIce(): void {
    if (this.#closed) return;
    this.#markNegotiationNeeded();
  }

  // ── data channels and media ──────────────────────────────────────────────────────────────

  createDataChannel(label: string, init: RTCDataChannelInitLike = {}): NodeRTCDataChannel {
    if (this.#closed) throw invalidState('the peer connection is closed');
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
    if (needsNegotiation) this.#markNegotiationNeeded();
    return channel;
  }

  addTrack(track: NodeMediaStreamTrack, ...streams: NodeMediaStream[]): NodeRTCRtpSender {
    if (this.#closed) throw invalidState('the peer connection is closed');
    if (this.#transceivers.some((transceiver) => transceiver.sender.track === track)) {
      throw new DOMException('the track is already being sent', 'InvalidAccessError');
    }
    const reusable = this.#transceivers.find(
      (transceiver) =>
        !transceiver.stopped &&
        transceiver.sender.track === null &&
        transceiver.receiver.track.kind === track.kind &&
        transceiver.direction !== 'recvonly',
    );
    if (reusable !== undefined) {
      reusable.sender._setTrack(track);
      reusable.sender.streams.splice(0, reusable.sender.streams.length, ...streams);
      this.#markNegotiationNeeded();
      return reusable.sender;
    }
    // The m-line (and the native track) comes with the next offer, or with the matching m-line
    // of a remote offer applied first.
    const sender = new NodeRTCRtpSender({
      track,
      streams: [...streams],
      ssrc: randomInt(1, 0xffffffff),
      payloadType: track.kind === 'video' ? VIDEO_PAYLOAD_TYPE : AUDIO_PAYLOAD_TYPE,
      onStats: () => undefined,
    });
    const receiver = new NodeRTCRtpReceiver(new NodeMediaStreamTrack({ kind: track.kind }, true));
    const transceiver = new NodeRTCRtpTransceiver({
      mid: null,
      sender,
      receiver,
      direction: 'sendrecv',
    });
    this.#transceivers.push(transceiver);
    this.#markNegotiationNeeded();
    return sender;
  }

  removeTrack(sender: NodeRTCRtpSender): void {
    if (this.#closed) throw invalidState('the peer connection is closed');
    const transceiver = this.#transceivers.find((candidate) => candidate.sender === sender);
    if (transceiver === undefined || sender.track === null) return;
    sender._setTrack(null);
    this.#markNegotiationNeeded();
  }

  getSenders(): NodeRTCRtpSender[] {
    return this.#transceivers.filter((t) => !t.stopped).map((t) => t.sender);
  }

  getReceivers(): NodeRTCRtpReceiver[] {
    return this.#transceivers.filter((t) => !t.stopped).map((t) => t.receiver);
  }

  getTransceivers(): NodeRTCRtpTransceiver[] {
    return [...this.#transceivers];
  }

  // ── stats and lifetime ───────────────────────────────────────────────────────────────────

  /** A `Map` of stats: transport, candidate pair and candidates, data channels, RTP streams. */
  getStats(): Promise<Map<string, NodeRTCStats>> {
    const timestamp = performance.timeOrigin + performance.now();
    const stats = new Map<string, NodeRTCStats>();
    const add = (entry: NodeRTCStats): void => {
      stats.set(entry.id, entry);
    };
    const read = <T>(get: () => T, fallback: T): T => {
      if (this.#closed) return fallback;
      try {
        return get();
      } catch {
        return fallback;
      }
    };
    const bytesSent = read(() => this.#native.bytesSent(), 0);
    const bytesReceived = read(() => this.#native.bytesReceived(), 0);
    const rtt = read(() => this.#native.rtt(), -1);
    const pair = read(() => this.#native.getSelectedCandidatePair(), null);
    add({
      id: 'P',
      type: 'peer-connection',
      timestamp,
      dataChannelsOpened: [...this.#dataChannels].filter((c) => c.readyState === 'open').length,
    });
    add({
      id: 'T',
      type: 'transport',
      timestamp,
      bytesSent,
      bytesReceived,
      dtlsState: this.#connectionState === 'connected' ? 'connected' : this.#connectionState,
      iceState: this.#iceConnectionState,
      ...(pair === null ? {} : { selectedCandidatePairId: 'CP' }),
    });
    if (pair !== null) {
      add({
        id: 'CP',
        type: 'candidate-pair',
        timestamp,
        transportId: 'T',
        localCandidateId: 'CL',
        remoteCandidateId: 'CR',
        state: 'succeeded',
        nominated: true,
        bytesSent,
        bytesReceived,
        ...(rtt >= 0 ? { currentRoundTripTime: rtt / 1000 } : {}),
      });
      for (const [id, type, info] of [
        ['CL', 'local-candidate', pair.local],
        ['CR', 'remote-candidate', pair.remote],
      ] as const) {
        add({
          id,
          type,
          timestamp,
          transportId: 'T',
          address: info.address,
          port: info.port,
          protocol: info.transportType.toLowerCase(),
          candidateType: info.type,
          priority: info.priority,
        });
      }
    }
    let index = 0;
    for (const channel of this.#dataChannels) {
      add({
        id: `D${index++}`,
        type: 'data-channel',
        timestamp,
        label: channel.label,
        dataChannelIdentifier: channel.id,
        state: channel.readyState,
      });
    }
    for (const transceiver of this.#transceivers) {
      const { sender, receiver } = transceiver;
      const kind: MediaKind = receiver.track.kind;
      if (sender.track !== null) {
        add({
          id: `O${transceiver.mid ?? ''}`,
          type: 'outbound-rtp',
          timestamp,
          kind,
          mid: transceiver.mid,
          ssrc: sender.ssrc,
          packetsSent: sender.track.packetsSent,
          bytesSent: sender.track.bytesSent,
        });
      }
      if (receiver.track.packetsReceived > 0) {
        add({
          id: `I${transceiver.mid ?? ''}`,
          type: 'inbound-rtp',
          timestamp,
          kind,
          mid: transceiver.mid,
          packetsReceived: receiver.track.packetsReceived,
          bytesReceived: receiver.track.bytesReceived,
        });
      }
    }
    return Promise.resolve(stats);
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
    this.#pendingLocalIce.length = 0;
    this.#pendingRemoteCandidates.length = 0;
    for (const channel of this.#dataChannels) channel._dispose();
    this.#dataChannels.clear();
    for (const transceiver of this.#transceivers) {
      transceiver.stop();
      try {
        this.#nativeTracks.get(transceiver)?.close();
      } catch {
        // Already closed natively.
      }
    }
    this.#nativeTracks.clear();
    for (const native of [...this.#spareNatives.values(), ...this.#retiredNatives]) {
      try {
        native.close();
      } catch {
        // Already closed natively.
      }
    }
    this.#spareNatives.clear();
    this.#retiredNatives.length = 0;
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    this.#native.close();
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────

  #enqueue<T>(operation: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(invalidState('the peer connection is closed'));
    this.#pendingOperations++;
    const run = this.#operations.then(() => {
      if (this.#closed) throw invalidState('the peer connection is closed');
      return operation();
    });
    this.#operations = run.catch(() => undefined);
    return run.finally(() => {
      this.#pendingOperations--;
      this.#maybeFireNegotiationNeeded();
    });
  }

  /** Generates (or reuses) the native offer. */
  #makeOffer(): string {
    const nativeState = this.#native.signalingState();
    if (nativeState === 'have-local-offer' && this.#signalingState === 'have-local-offer') {
      return this.#native.localDescription()?.sdp ?? this.#pendingLocal?.sdp ?? '';
    }
    if (nativeState === 'have-local-offer') this.#native.setLocalDescription('rollback');
    if (
      !this.#hasApplicationSection() &&
      this.#dataChannels.size === 0 &&
      this.#transceivers.length === 0
    ) {
      // node-datachannel aborts the process on an offer with nothing in it.
      throw invalidState('nothing to negotiate: create a data channel or add a track first');
    }
    for (const transceiver of this.#transceivers) {
      if (transceiver.mid !== null || transceiver.stopped) continue;
      const spare = this.#spareNatives.keys().next();
      const mid = spare.done === true ? this.#allocateMid() : spare.value;
      this.#materialize(transceiver, mid, 'SendRecv', undefined);
    }
    try {
      this.#native.setLocalDescription('offer');
    } catch (err) {
      throw operationError('failed to create an offer', err);
    }
    this.#negotiationNeeded = false;
    return this.#native.localDescription()?.sdp ?? '';
  }

  /** Generates (or reuses) the native answer to the pending remote offer. */
  #makeAnswer(): string {
    if (this.#signalingState !== 'have-remote-offer') {
      throw invalidState(`cannot create an answer in ${this.#signalingState}`);
    }
    if (this.#nativeAnswer === undefined) {
      try {
        this.#native.setLocalDescription('answer');
      } catch (err) {
        throw operationError('failed to create an answer', err);
      }
      this.#nativeAnswer = this.#native.localDescription()?.sdp ?? '';
    }
    return this.#nativeAnswer;
  }

  /** A native offer was generated by `createOffer` but never applied: drop it. */
  #discardUnappliedOffer(): void {
    if (this.#native.signalingState() === 'have-local-offer') {
      this.#native.setLocalDescription('rollback');
      this.#negotiationNeeded = true;
    }
  }

  #rollbackLocal(): void {
    if (this.#signalingState !== 'have-local-offer') {
      if (this.#signalingState === 'stable') return;
      throw invalidState(`cannot roll back a local description in ${this.#signalingState}`);
    }
    this.#discardUnappliedOffer();
    this.#pendingLocal = null;
    this.#releaseLocalIce();
    this.#unassociateUnnegotiated();
    // The offer's changes are still to be negotiated.
    this.#negotiationNeeded = true;
    this.#setSignalingState('stable');
  }

  #rollbackRemote(): void {
    if (this.#signalingState === 'have-local-offer') {
      this.#rollbackLocal();
      return;
    }
    if (this.#signalingState !== 'have-remote-offer') return;
    if (this.#nativeAnswer !== undefined) {
      throw invalidState('cannot roll back a remote offer once its answer was created');
    }
    try {
      this.#native.setRemoteDescription('', 'rollback');
    } catch (err) {
      throw operationError('failed to roll back the remote offer', err);
    }
    this.#pendingRemote = null;
    this.#setSignalingState('stable');
  }

  #setSignalingState(state: RTCSignalingStateLike): void {
    if (this.#signalingState === state) return;
    this.#signalingState = state;
    emit(this, new Event('signalingstatechange'));
    if (state === 'stable') this.#maybeFireNegotiationNeeded();
  }

  #applyLocal(): void {
    if (this.#localApplied || this.#holdingLocalIce) {
      this.#localApplied = true;
      return;
    }
    this.#localApplied = true;
    for (const event of this.#pendingLocalIce.splice(0)) {
      if (this.#closed) return;
      event();
    }
  }

  /**
   * Runs a local ICE event (candidate, gathering state) now, or queues it until the local
   * description is applied and, for a first offer, until its answer is.
   *
   * Why a first offer holds its candidates: a browser that answers is the DTLS client. Given our
   * candidates it connects ICE from its own checks and sends its ClientHello at once, which can
   * reach node-datachannel before our side applied the answer, so before it knows the answer's
   * fingerprint: the handshake then fails for good (the connection goes to `failed`). Without
   * our candidates the browser waits for our checks, which start only once the answer is
   * applied. The candidates follow the answer, so the connection is delayed by about one
   * signalling round trip at most.
   */
  #localIce(event: () => void): void {
    if (this.#closed) return;
    if (this.#localApplied && !this.#holdingLocalIce) event();
    else this.#pendingLocalIce.push(event);
  }

  /** Ends the hold of a first offer's local candidates and emits what was held, in order. */
  #releaseLocalIce(): void {
    if (!this.#holdingLocalIce) return;
    this.#holdingLocalIce = false;
    if (!this.#localApplied) return;
    for (const event of this.#pendingLocalIce.splice(0)) {
      if (this.#closed) return;
      event();
    }
  }

  #markNegotiationNeeded(): void {
    this.#negotiationNeeded = true;
    this.#maybeFireNegotiationNeeded();
  }

  #maybeFireNegotiationNeeded(): void {
    if (this.#closed || !this.#negotiationNeeded || this.#negotiationScheduled) return;
    this.#negotiationScheduled = true;
    setImmediate(() => {
      this.#negotiationScheduled = false;
      if (
        this.#closed ||
        !this.#negotiationNeeded ||
        this.#signalingState !== 'stable' ||
        this.#pendingOperations > 0
      ) {
        return;
      }
      this.#negotiationNeeded = false;
      emit(this, new Event('negotiationneeded'));
    });
  }

  #hasApplicationSection(): boolean {
    const sdp = this.localDescription?.sdp ?? this.remoteDescription?.sdp ?? '';
    return /^m=application/m.test(sdp) || this.#dataChannels.size > 0;
  }

  #allocateMid(): string {
    const used = new Set<string>();
    for (const description of [this.localDescription, this.remoteDescription]) {
      for (const section of mediaSections(description?.sdp ?? '')) {
        if (section.mid !== undefined) used.add(section.mid);
      }
    }
    for (const transceiver of this.#transceivers) {
      if (transceiver.mid !== null) used.add(transceiver.mid);
    }
    for (const mid of this.#spareNatives.keys()) used.add(mid);
    used.add('0');
    while (used.has(String(this.#nextMid))) this.#nextMid++;
    return String(this.#nextMid++);
  }

  /**
   * Answering a first offer, the remote candidates are held back until our ICE agent connected
   * through the offerer's own checks (or a short fallback passed). Checking at once would let
   * the offerer's agent connect from our checks the instant it applies the answer, and its DTLS
   * start before node-datachannel stored the answer's fingerprint: the handshake then fails.
   */
  #holdRemoteCandidates(): void {
    if (this.#holdTimer !== undefined) return;
    this.#holdTimer = setTimeout(() => this.#releaseRemoteCandidates(), REMOTE_CANDIDATE_HOLD_MS);
    this.#holdTimer.unref();
  }

  #releaseRemoteCandidates(): void {
    if (this.#holdTimer === undefined) return;
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    if (!this.#closed) this.#addPendingRemoteCandidates();
  }

  #addPendingRemoteCandidates(): void {
    if (this.#holdTimer !== undefined) return;
    for (const candidate of this.#pendingRemoteCandidates.splice(0)) {
      this.#addRemoteCandidate(candidate, false);
    }
  }

  #addRemoteCandidate(init: RTCIceCandidateInitLike, strict: boolean): void {
    const candidate = new NodeRTCIceCandidate(init);
    const sections = mediaSections(this.remoteDescription?.sdp ?? '');
    const mid =
      candidate.sdpMid ??
      (candidate.sdpMLineIndex === null ? undefined : sections[candidate.sdpMLineIndex]?.mid) ??
      sections[0]?.mid ??
      '0';
    const key = `${mid} ${candidate.candidate}`;
    if (this.#addedCandidates.has(key)) return;
    this.#addedCandidates.add(key);
    try {
      this.#native.addRemoteCandidate(candidate.candidate, mid);
    } catch (err) {
      if (strict) throw operationError('failed to add the ICE candidate', err);
    }
  }

  #track(channel: NodeRTCDataChannel): NodeRTCDataChannel {
    this.#dataChannels.add(channel);
    channel.addEventListener('close', () => this.#dataChannels.delete(channel), { once: true });
    return channel;
  }

  #bindTransceiver(transceiver: NodeRTCRtpTransceiver, native: NativeTrack): void {
    if (!this.#transceivers.includes(transceiver)) this.#transceivers.push(transceiver);
    this.#nativeTracks.set(transceiver, native);
    transceiver.sender._bind(native, () => !this.#closed);
    const remoteTrack = transceiver.receiver.track;
    native.onMessage((message) => {
      if (this.#closed) return;
      const packet = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
      if (!isRtcpPacket(packet)) remoteTrack._receive(packet);
    });
    native.onClosed(() => remoteTrack._end());
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
      this.#releaseRemoteCandidates();
    }
    this.#iceConnectionState = state as RTCIceConnectionStateLike;
    emit(this, new Event('iceconnectionstatechange'));
  }

  #onGatheringStateChange(state: string): void {
    const mapped: RTCIceGatheringStateLike =
      state === 'complete' ? 'complete' : state === 'new' ? 'new' : 'gathering';
    this.#localIce(() => {
      if (mapped === this.#iceGatheringState) return;
      this.#iceGatheringState = mapped;
      this.#endOfCandidatesSent = false;
      emit(this, new Event('icegatheringstatechange'));
      this.#maybeEndOfCandidates();
    });
  }

  /**
   * The native side may report the end of gathering before its last candidate: the
   * end-of-candidates event waits until every candidate of the local description was emitted.
   */
  #maybeEndOfCandidates(): void {
    if (this.#closed || this.#iceGatheringState !== 'complete' || this.#endOfCandidatesSent) return;
    const sdp = this.#native.localDescription()?.sdp ?? '';
    for (const match of sdp.matchAll(/^a=(candidate:.*?)\r?$/gm)) {
      if (!this.#emittedCandidates.has(match[1]?.trim() ?? '')) return;
    }
    this.#endOfCandidatesSent = true;
    emit(this, new NodeRTCPeerConnectionIceEvent('icecandidate', { candidate: null }));
  }

  #onLocalCandidate(candidate: string, mid: string): void {
    this.#localIce(() => {
      const sdp = this.localDescription?.sdp ?? '';
      const index = mediaSections(sdp).findIndex((section) => section.mid === mid);
      const iceCandidate = new NodeRTCIceCandidate({
        candidate,
        sdpMid: mid,
        sdpMLineIndex: index === -1 ? 0 : index,
        usernameFragment: iceUfragOf(sdp) ?? null,
      });
      this.#emittedCandidates.add(iceCandidate.candidate.trim());
      emit(this, new NodeRTCPeerConnectionIceEvent('icecandidate', { candidate: iceCandidate }));
      this.#maybeEndOfCandidates();
    });
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

  #onTrack(native: NativeTrack): void {
    if (this.#closed) return;
    const mid = native.mid();
    if (this.#transceivers.some((transceiver) => transceiver.mid === mid)) return;
    const kind: MediaKind = native.type() === 'audio' ? 'audio' : 'video';
    const section = mediaSections(this.remoteDescription?.sdp ?? '').find((s) => s.mid === mid);
    const msid = section?.msids[0];
    const trackId = msid?.[1] === undefined || msid[1] === '' ? undefined : msid[1];
    const track = new NodeMediaStreamTrack(
      { kind, ...(trackId === undefined ? {} : { id: trackId }) },
      true,
    );
    const streams = this.#remoteStreamsOf(section, track);
    const sender = idleSender(kind);
    const receiver = new NodeRTCRtpReceiver(track);
    const transceiver = new NodeRTCRtpTransceiver({ mid, sender, receiver, direction: 'recvonly' });
    this.#bindTransceiver(transceiver, native);
    this.#announced.add(transceiver);
    emit(this, new NodeRTCTrackEvent('track', { track, streams, receiver, transceiver }));
  }

  #remoteStreamsOf(
    section: SdpMediaSection | undefined,
    track: NodeMediaStreamTrack,
  ): NodeMediaStream[] {
    const streams: NodeMediaStream[] = [];
    for (const [streamId] of section?.msids ?? []) {
      if (streamId === '-') continue;
      let stream = this.#remoteStreams.get(streamId);
      if (stream === undefined) {
        stream = new NodeMediaStream(streamId);
        this.#remoteStreams.set(streamId, stream);
      }
      stream.addTrack(track);
      streams.push(stream);
    }
    return streams;
  }

  // ── m-line association ──────────────────────────────────────────────────────────────────

  /**
   * Gives `transceiver` its m-line: a native track with `mid` that carries the sender's SSRC
   * and stream, with the offered codec when answering. node-datachannel's `addTrack` on a mid it
   * already knows (an m-line of a rolled-back offer) re-describes that track.
   */
  #materialize(
    transceiver: NodeRTCRtpTransceiver,
    mid: string,
    direction: 'SendRecv' | 'SendOnly' | 'RecvOnly' | 'Inactive',
    offered: SdpMediaSection | undefined,
  ): void {
    const { sender } = transceiver;
    const kind = transceiver.receiver.track.kind;
    const media = kind === 'video' ? new Video(mid, direction) : new Audio(mid, direction);
    const codec = offered === undefined ? undefined : pickCodec(offered, kind);
    if (codec !== undefined) {
      if (media instanceof Video) {
        media.addVideoCodec(codec.payloadType, codec.name, codec.fmtp);
      } else {
        media.addAudioCodec(codec.payloadType, codec.name, codec.fmtp);
      }
      sender._setPayloadType(codec.payloadType);
    } else if (media instanceof Video) {
      media.addH264Codec(sender.payloadType);
    } else {
      media.addOpusCodec(sender.payloadType);
    }
    if (sender.track !== null && direction !== 'RecvOnly' && direction !== 'Inactive') {
      const cname = `node-${sender.ssrc}`;
      media.addSSRC(sender.ssrc, cname, sender.streams[0]?.id ?? '-', sender.track.id);
    }
    const spare = this.#spareNatives.get(mid);
    if (spare !== undefined) {
      this.#spareNatives.delete(mid);
      this.#retiredNatives.push(spare);
    }
    const native = this.#native.addTrack(media);
    transceiver._setMid(mid);
    this.#bindTransceiver(transceiver, native);
  }

  /**
   * Before a remote offer is applied: every m-line it adds takes a transceiver of the same kind
   * that has no m-line yet (one added with `addTrack` before the offer arrived), as browsers do.
   */
  #associateWithOffer(sdp: string): void {
    for (const section of mediaSections(sdp)) {
      const { mid } = section;
      if (mid === undefined || (section.kind !== 'audio' && section.kind !== 'video')) continue;
      if (this.#transceivers.some((transceiver) => transceiver.mid === mid)) continue;
      const pending = this.#transceivers.find(
        (transceiver) =>
          transceiver.mid === null &&
          !transceiver.stopped &&
          transceiver.receiver.track.kind === section.kind,
      );
      if (pending !== undefined) {
        this.#materialize(pending, mid, answerDirection(section.direction), section);
      } else if (this.#spareNatives.has(mid)) {
        // node-datachannel reports no track for a mid it knows: receive on it here.
        const kind: MediaKind = section.kind;
        const receiver = new NodeRTCRtpReceiver(new NodeMediaStreamTrack({ kind }, true));
        const sender = idleSender(kind);
        const transceiver = new NodeRTCRtpTransceiver({
          mid: null,
          sender,
          receiver,
          direction: 'recvonly',
        });
        const direction = section.direction === 'inactive' || section.direction === 'recvonly';
        this.#materialize(transceiver, mid, direction ? 'Inactive' : 'RecvOnly', section);
      }
    }
  }

  /**
   * A rolled-back local offer gave m-lines to transceivers that were never negotiated: they
   * lose them again (their native tracks are kept for reuse, by mid).
   */
  #unassociateUnnegotiated(): void {
    const negotiated = new Set<string>();
    for (const description of [this.#currentLocal, this.#currentRemote]) {
      for (const section of mediaSections(description?.sdp ?? '')) {
        if (section.mid !== undefined) negotiated.add(section.mid);
      }
    }
    for (const transceiver of this.#transceivers) {
      const { mid } = transceiver;
      if (mid === null || negotiated.has(mid) || transceiver.stopped) continue;
      const native = this.#nativeTracks.get(transceiver);
      this.#nativeTracks.delete(transceiver);
      if (native !== undefined) this.#spareNatives.set(mid, native);
      transceiver.sender._dispose();
      transceiver._setMid(null);
    }
  }

  /** Fires `track` for every transceiver the remote description now sends to. */
  #announceRemoteTracks(): void {
    const sections = mediaSections(this.remoteDescription?.sdp ?? '');
    const localSections = mediaSections(this.localDescription?.sdp ?? '');
    for (const transceiver of this.#transceivers) {
      if (transceiver.mid === null || transceiver.stopped || this.#announced.has(transceiver)) {
        continue;
      }
      const section = sections.find((candidate) => candidate.mid === transceiver.mid);
      if (section === undefined) continue;
      if (section.direction !== 'sendrecv' && section.direction !== 'sendonly') continue;
      // node-datachannel answers an m-line it has no track for with a bare `sendrecv`: only
      // a section that names what it sends (msid or SSRC) has a track behind it.
      // It also echoes the offer's msid there: a section that repeats ours sends nothing.
      if (section.msids.length === 0) continue;
      const ours = localSections.find((candidate) => candidate.mid === transceiver.mid);
      const echo = (ours?.msids ?? []).map(([stream, id]) => `${stream} ${id}`).join();
      if (echo !== '' && echo === section.msids.map(([stream, id]) => `${stream} ${id}`).join()) {
        continue;
      }
      this.#announced.add(transceiver);
      const { receiver } = transceiver;
      const track = receiver.track;
      const streams = this.#remoteStreamsOf(section, track);
      emit(this, new NodeRTCTrackEvent('track', { track, streams, receiver, transceiver }));
    }
  }
}

/** The sender of a transceiver that only receives so far: no track, its own SSRC. */
function idleSender(kind: MediaKind): NodeRTCRtpSender {
  return new NodeRTCRtpSender({
    track: null,
    streams: [],
    ssrc: randomInt(1, 0xffffffff),
    payloadType: kind === 'video' ? VIDEO_PAYLOAD_TYPE : AUDIO_PAYLOAD_TYPE,
    onStats: () => undefined,
  });
}

/** The direction of our m-line answering an offered one. */
function answerDirection(
  offered: SdpMediaSection['direction'],
): 'SendRecv' | 'SendOnly' | 'RecvOnly' | 'Inactive' {
  switch (offered) {
    case 'sendrecv':
      return 'SendRecv';
    case 'recvonly':
      return 'SendOnly';
    case 'sendonly':
      return 'RecvOnly';
    case 'inactive':
      return 'Inactive';
  }
}

/** The offered codec to answer with: H264 or Opus when offered, else the first one. */
function pickCodec(section: SdpMediaSection, kind: MediaKind): SdpCodec | undefined {
  const preferred = kind === 'video' ? /^h264\//i : /^opus\//i;
  const matching = section.codecs.filter((codec) => preferred.test(codec.name));
  return (
    matching.find((codec) => codec.fmtp?.includes('packetization-mode=1') === true) ??
    matching[0] ??
    section.codecs.find((codec) => !/^(rtx|red|ulpfec|flexfec)/i.test(codec.name))
  );
}

/** Creates a peer connection: the `rtcPeerConnectionFactory` option of `MeteredPeer` on Node. */
export function rtcPeerConnectionFactory(configuration?: NodeRTCConfiguration): RTCPeerConnection {
  return new RTCPeerConnection(configuration);
}
