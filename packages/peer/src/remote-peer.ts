import type { RTCDataChannelLike } from '@metered/datachannel';
import { MeteredPeerSendError, MeteredRealtimeError } from '@metered/errors';
import {
  rtcDescriptionPayload,
  rtcIcePayload,
  trackMetaPayload,
  type JsonObject,
  type RtcSignal,
} from '@metered/protocol';
import { Emitter, type EventClass, type EventHandler } from '@metered/events';
import {
  ConnectionReset,
  DataChannelOpened,
  IceCandidateError,
  NegotiationError,
  StateChange,
  StreamAdded,
  StreamRemoved,
  Track,
  type PeerEvent,
} from './events.js';
import { METERED_PEER_DEFAULTS } from './options.js';
import type {
  IceCandidateLike,
  MediaStreamLike,
  MediaStreamTrackLike,
  PeerConnectionConfig,
  RTCPeerConnectionLike,
  RTCRtpSenderLike,
  TrackEventLike,
} from './rtc-types.js';
import { senderTrackIdsByMid } from './sdp.js';

import type { RemotePeerState } from './states.js';

export type { RemotePeerState };

/** A local track as the owning `MeteredPeer` tracks it. */
export interface LocalTrack {
  readonly stream: MediaStreamLike | undefined;
  readonly metadata: JsonObject | undefined;
}

/** What a {@link RemotePeer} needs from the `MeteredPeer` that owns it. */
export interface RemotePeerHost {
  createPeerConnection(): RTCPeerConnectionLike;
  /** Sends a signalling payload (fire and forget, in order). */
  signal(peerId: string, payload: unknown): void;
  /** Sends application data directly. */
  sendTo(peerId: string, data: unknown): Promise<void>;
  localTracks(): ReadonlyMap<MediaStreamTrackLike, LocalTrack>;
  log(level: 'debug' | 'warn', message: string): void;
}

type Timer = ReturnType<typeof setTimeout>;

const {
  iceRestartDelaysMs,
  iceRestartAnswerTimeoutMs,
  trackMetadataCacheSize,
  maxCandidatesPerNegotiation,
  maxCandidateLength,
} = METERED_PEER_DEFAULTS;

/**
 * Another member of the channel, with the peer connection to it. Built by `MeteredPeer` for each
 * member that presence reports; never constructed by applications.
 */
export class RemotePeer {
  /** The remote peer id. */
  readonly id: string;
  readonly #host: RemotePeerHost;
  readonly #emitter: Emitter;
  #metadata: JsonObject | null;
  #polite: boolean;
  #state: RemotePeerState = 'idle';
  #pc: RTCPeerConnectionLike;
  /** Local track → its sender on the current connection. */
  readonly #senders = new Map<MediaStreamTrackLike, RTCRtpSenderLike>();
  /**
   * Local track → the other id the local SDP announces it under (a transceiver first created by
   * the remote side's offer carries an id of its own in `a=msid`), once its metadata went under it.
   */
  readonly #aliases = new Map<MediaStreamTrackLike, string>();
  /** Received metadata by the sender's track id (FIFO-capped). */
  readonly #trackMetadata = new Map<string, JsonObject>();
  /** Streams seen on this peer, by id. */
  readonly #streams = new Map<string, MediaStreamLike>();
  readonly #cleanups = new Set<() => void>();
  // Perfect negotiation.
  #makingOffer = false;
  #ignoreOffer = false;
  #settingRemoteAnswer = false;
  #inbound: Promise<void> = Promise.resolve();
  #heldCandidates: (IceCandidateLike | null)[] | undefined;
  #candidateCount = 0;
  // ICE restart ladder.
  #restartAttempt = 0;
  #restartTimer: Timer | undefined;
  #answerTimer: Timer | undefined;
  #restartExhausted = false;
  #closed = false;

  /** @internal */
  constructor(
    id: string,
    metadata: JsonObject | null,
    localPeerId: string,
    host: RemotePeerHost,
    onListenerError: (error: unknown) => void,
  ) {
    this.id = id;
    this.#metadata = metadata;
    this.#polite = localPeerId < id;
    this.#host = host;
    this.#emitter = new Emitter(onListenerError);
    this.#pc = this.#attach();
  }

  /** The member's presence metadata (refreshed after a reconnect), or `null`. */
  get metadata(): JsonObject | null {
    return this.#metadata;
  }

  /** `true` when this side yields on an offer collision (its id is the smaller one). */
  get polite(): boolean {
    return this.#polite;
  }

  get state(): RemotePeerState {
    return this.#state;
  }

  /** The current peer connection; replaced after a reconnect (see {@link ConnectionReset}). */
  get pc(): RTCPeerConnectionLike {
    return this.#pc;
  }

  /** Sends application data directly to this peer (like `MeteredPeer.sendTo`). */
  send(data: unknown): Promise<void> {
    if (this.#closed) {
      return Promise.reject(
        new MeteredPeerSendError({
          code: 'not_joined',
          message: `remote peer ${this.id} is closed`,
        }),
      );
    }
    return this.#host.sendTo(this.id, data);
  }

  /** Opens a data channel to this peer on the current connection (wrap it in `DataChannel`). */
  createDataChannel(label: string, options?: object): RTCDataChannelLike {
    return this.#pc.createDataChannel(label, options);
  }

  on<T extends PeerEvent>(type: EventClass<T>, handler: EventHandler<T>): () => void {
    return this.#emitter.on(type, handler);
  }

  once<T extends PeerEvent>(type: EventClass<T>, handler: EventHandler<T>): () => void {
    return this.#emitter.on(type, handler, true);
  }

  off<T extends PeerEvent>(type: EventClass<T>, handler: EventHandler<T>): void {
    this.#emitter.off(type, handler);
  }

  // ---- driven by MeteredPeer ----

  /** @internal A signalling payload from this peer. */
  handleSignal(signal: RtcSignal): void {
    if (this.#closed) return;
    if (signal.type === 'track-meta') {
      this.#trackMetadata.delete(signal.trackId);
      if (signal.metadata) {
        this.#trackMetadata.set(signal.trackId, signal.metadata);
        if (this.#trackMetadata.size > trackMetadataCacheSize) {
          const oldest = this.#trackMetadata.keys().next().value as string;
          this.#trackMetadata.delete(oldest);
        }
      }
      return;
    }
    const pc = this.#pc;
    this.#inbound = this.#inbound.then(() =>
      pc === this.#pc && !this.#closed
        ? signal.type === 'rtc-description'
          ? this.#applyDescription(pc, signal.description)
          : this.#applyCandidate(pc, signal.candidate)
        : undefined,
    );
  }

  /** @internal Sends a local track's metadata, then attaches the track. */
  attachTrack(track: MediaStreamTrackLike, local: LocalTrack): void {
    if (this.#closed || this.#senders.has(track)) return;
    if (local.metadata) this.#host.signal(this.id, trackMetaPayload(track.id, local.metadata));
    const sender = local.stream ? this.#pc.addTrack(track, local.stream) : this.#pc.addTrack(track);
    this.#senders.set(track, sender);
  }

  /** @internal */
  sendTrackMetadata(trackId: string, metadata?: JsonObject): void {
    if (!this.#closed) this.#host.signal(this.id, trackMetaPayload(trackId, metadata));
  }

  /** @internal */
  detachTrack(track: MediaStreamTrackLike, hadMetadata: boolean): void {
    const sender = this.#senders.get(track);
    if (!sender || this.#closed) return;
    this.#senders.delete(track);
    try {
      this.#pc.removeTrack(sender);
    } catch (error) {
      this.#host.log('warn', `removeTrack failed for ${this.id}: ${String(error)}`);
    }
    if (hadMetadata) this.sendTrackMetadata(track.id);
    const alias = this.#aliases.get(track);
    this.#aliases.delete(track);
    if (hadMetadata && alias !== undefined) this.sendTrackMetadata(alias);
  }

  /** @internal Swaps the track on this peer's sender; rejects when the swap fails. */
  async replaceTrack(
    oldTrack: MediaStreamTrackLike,
    newTrack: MediaStreamTrackLike | null,
  ): Promise<boolean> {
    const sender = this.#senders.get(oldTrack);
    if (!sender) return false;
    await sender.replaceTrack(newTrack);
    this.#senders.delete(oldTrack);
    if (newTrack) this.#senders.set(newTrack, sender);
    return true;
  }

  /** @internal The signalling connection dropped. */
  markReconnecting(): void {
    if (this.#state !== 'idle' && this.#state !== 'closed') this.#setState('reconnecting');
  }

  /** @internal Refreshed ICE servers for the live connection. */
  setConfiguration(config: PeerConnectionConfig): void {
    try {
      this.#pc.setConfiguration?.(config);
    } catch (error) {
      this.#host.log('warn', `setConfiguration failed for ${this.id}: ${String(error)}`);
    }
  }

  /** @internal This peer survived a reconnect: a new connection replaces the old one. */
  reset(metadata: JsonObject | null, localPeerId: string): void {
    if (this.#closed) return;
    this.#metadata = metadata;
    this.#polite = localPeerId < this.id;
    this.#dropConnection();
    this.#pc = this.#attach();
    this.#emit(new ConnectionReset());
  }

  /** @internal Closes the connection for good; the last event is `StateChange` to `closed`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#dropConnection();
    this.#trackMetadata.clear();
    this.#streams.clear();
    this.#setState('closed');
    this.#emitter.clear();
  }

  // ---- connection ----

  #attach(): RTCPeerConnectionLike {
    const pc = this.#host.createPeerConnection();
    this.#makingOffer = this.#ignoreOffer = this.#settingRemoteAnswer = false;
    this.#heldCandidates = undefined;
    this.#candidateCount = 0;
    this.#inbound = Promise.resolve();
    pc.onnegotiationneeded = () => void this.#negotiate(pc);
    pc.onicecandidate = ({ candidate }) => {
      if (pc !== this.#pc) return;
      if (this.#heldCandidates) this.#heldCandidates.push(candidate);
      else this.#sendCandidate(candidate);
    };
    pc.oniceconnectionstatechange = () => this.#onIceState(pc);
    pc.onconnectionstatechange = () => this.#onConnectionState(pc);
    pc.ontrack = (event) => this.#onTrack(pc, event);
    pc.ondatachannel = ({ channel }) => {
      if (pc === this.#pc) this.#emit(new DataChannelOpened({ channel }));
    };
    this.#senders.clear();
    this.#aliases.clear();
    for (const [track, local] of this.#host.localTracks()) {
      if (local.metadata) this.#host.signal(this.id, trackMetaPayload(track.id, local.metadata));
      this.#senders.set(
        track,
        local.stream ? pc.addTrack(track, local.stream) : pc.addTrack(track),
      );
    }
    return pc;
  }

  #dropConnection(): void {
    const pc = this.#pc;
    pc.onnegotiationneeded = pc.onicecandidate = null;
    pc.oniceconnectionstatechange = pc.onconnectionstatechange = null;
    pc.ontrack = pc.ondatachannel = null;
    this.#stopLadder();
    this.#restartAttempt = 0;
    this.#restartExhausted = false;
    this.#senders.clear();
    for (const cleanup of this.#cleanups) cleanup();
    this.#cleanups.clear();
    try {
      pc.close();
    } catch (error) {
      this.#host.log('warn', `closing the connection to ${this.id} failed: ${String(error)}`);
    }
  }

  async #negotiate(pc: RTCPeerConnectionLike, iceRestart = false): Promise<void> {
    if (pc !== this.#pc || this.#closed || this.#makingOffer) return;
    const restart = iceRestart || this.#answerTimer !== undefined;
    try {
      this.#makingOffer = true;
      this.#heldCandidates ??= [];
      if (this.#state === 'idle') this.#setState('connecting');
      const offer = await pc.createOffer(restart ? { iceRestart: true } : undefined);
      // Abandoned: a remote offer was applied meanwhile.
      if (pc !== this.#pc || pc.signalingState !== 'stable') return;
      await pc.setLocalDescription(offer);
      if (pc !== this.#pc) return;
      const local = pc.localDescription ?? offer;
      if (local.type === 'offer') {
        this.#announceAliases(pc, local.sdp);
        this.#host.signal(this.id, rtcDescriptionPayload({ type: 'offer', sdp: local.sdp ?? '' }));
      }
    } catch (error) {
      if (pc === this.#pc && !this.#closed) this.#emit(new NegotiationError({ err: error }));
    } finally {
      if (pc === this.#pc) {
        this.#makingOffer = false;
        this.#flushCandidates();
      }
    }
  }

  /**
   * Sends a local track's metadata again under the id its SDP section announces, when that is
   * not the track's own id. Browsers do that for a transceiver the remote side's offer created:
   * its `a=msid` names the transceiver's sender, and the receiver maps metadata through the msid.
   * Sent before the description itself, so the metadata is there when the `track` event fires.
   */
  #announceAliases(pc: RTCPeerConnectionLike, sdp: string | undefined): void {
    const announced = senderTrackIdsByMid(sdp);
    if (announced.size === 0) return;
    const localTracks = this.#host.localTracks();
    for (const transceiver of pc.getTransceivers?.() ?? []) {
      const track = transceiver.sender?.track;
      const mid = transceiver.mid;
      if (!track || mid === null) continue;
      const alias = announced.get(mid);
      const metadata = localTracks.get(track)?.metadata;
      if (alias === undefined || alias === track.id || !metadata) continue;
      if (this.#aliases.get(track) === alias) continue;
      this.#aliases.set(track, alias);
      this.#host.signal(this.id, trackMetaPayload(alias, metadata));
    }
  }

  async #applyDescription(
    pc: RTCPeerConnectionLike,
    description: { readonly type: 'offer' | 'answer'; readonly sdp: string },
  ): Promise<void> {
    const readyForOffer =
      !this.#makingOffer && (pc.signalingState === 'stable' || this.#settingRemoteAnswer);
    const collision = description.type === 'offer' && !readyForOffer;
    this.#ignoreOffer = !this.#polite && collision;
    if (this.#ignoreOffer) {
      this.#host.log('debug', `offer from ${this.id} ignored (collision, impolite)`);
      return;
    }
    if (description.type === 'answer' && pc.signalingState !== 'have-local-offer') {
      this.#host.log('debug', `answer from ${this.id} ignored in ${pc.signalingState}`);
      return;
    }
    try {
      this.#settingRemoteAnswer = description.type === 'answer';
      if (collision && pc.signalingState === 'have-local-offer') {
        await pc.setLocalDescription({ type: 'rollback' });
      }
      if (pc !== this.#pc) return;
      await pc.setRemoteDescription(description);
      this.#settingRemoteAnswer = false;
      if (pc !== this.#pc) return;
      this.#candidateCount = 0;
      // The restart's negotiation completed (or the remote side's replaced it).
      this.#clearTimer(this.#answerTimer);
      this.#answerTimer = undefined;
      if (description.type === 'offer') {
        if (this.#state === 'idle') this.#setState('connecting');
        this.#heldCandidates ??= [];
        const answer = await pc.createAnswer();
        if (pc !== this.#pc) return;
        await pc.setLocalDescription(answer);
        if (pc !== this.#pc) return;
        const local = pc.localDescription ?? answer;
        this.#announceAliases(pc, local.sdp);
        this.#host.signal(this.id, rtcDescriptionPayload({ type: 'answer', sdp: local.sdp ?? '' }));
        this.#flushCandidates();
      }
    } catch (error) {
      this.#settingRemoteAnswer = false;
      if (pc === this.#pc && !this.#closed) {
        this.#flushCandidates();
        this.#emit(new NegotiationError({ err: error }));
      }
    }
  }

  async #applyCandidate(
    pc: RTCPeerConnectionLike,
    candidate: IceCandidateLike | null,
  ): Promise<void> {
    if (candidate) {
      if ((candidate.candidate?.length ?? 0) > maxCandidateLength) return;
      if (++this.#candidateCount > maxCandidatesPerNegotiation) return;
    }
    try {
      await pc.addIceCandidate(candidate);
    } catch (error) {
      if (!this.#ignoreOffer && pc === this.#pc && !this.#closed) {
        this.#emit(new IceCandidateError({ err: error }));
      }
    }
  }

  #sendCandidate(candidate: IceCandidateLike | null): void {
    const init = candidate?.toJSON ? candidate.toJSON() : candidate;
    this.#host.signal(this.id, rtcIcePayload(init ?? null));
  }

  /** Candidates gathered while a description was being set go out after it. */
  #flushCandidates(): void {
    if (this.#makingOffer) return;
    const held = this.#heldCandidates;
    this.#heldCandidates = undefined;
    for (const candidate of held ?? []) this.#sendCandidate(candidate);
  }

  // ---- state, ICE restart ----

  #onConnectionState(pc: RTCPeerConnectionLike): void {
    if (pc !== this.#pc) return;
    switch (pc.connectionState) {
      case 'new':
      case 'connecting':
        // A reconnect's new connection keeps showing `reconnecting` until it connects.
        if (this.#state !== 'reconnecting') this.#setState('connecting');
        break;
      case 'connected':
        this.#ladderSucceeded();
        this.#setState('connected');
        break;
      case 'disconnected':
      case 'failed':
        this.#setState('reconnecting');
        break;
      default:
        break;
    }
  }

  #onIceState(pc: RTCPeerConnectionLike): void {
    if (pc !== this.#pc) return;
    const state = pc.iceConnectionState;
    if (state === 'connected' || state === 'completed') this.#ladderSucceeded();
    else if (state === 'failed' && !this.#restartTimer && !this.#answerTimer) this.#nextRestart();
  }

  #ladderSucceeded(): void {
    this.#stopLadder();
    this.#restartAttempt = 0;
    this.#restartExhausted = false;
  }

  #nextRestart(): void {
    if (this.#closed) return;
    const delay = iceRestartDelaysMs[this.#restartAttempt];
    if (delay === undefined) {
      if (!this.#restartExhausted) {
        this.#restartExhausted = true;
        this.#emit(
          new NegotiationError({
            err: new MeteredRealtimeError({
              message: `ICE restart attempts exhausted (${iceRestartDelaysMs.length}) for ${this.id}`,
            }),
          }),
        );
      }
      return;
    }
    this.#restartAttempt++;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#restart();
    }, delay);
  }

  #restart(): void {
    const pc = this.#pc;
    this.#host.log('debug', `ICE restart ${this.#restartAttempt} for ${this.id}`);
    this.#answerTimer = setTimeout(() => {
      this.#answerTimer = undefined;
      this.#nextRestart();
    }, iceRestartAnswerTimeoutMs);
    void this.#restartOffer(pc);
  }

  /** An offer with fresh ICE credentials; an earlier offer still unanswered is rolled back first. */
  async #restartOffer(pc: RTCPeerConnectionLike): Promise<void> {
    if (pc.signalingState === 'have-local-offer' && !this.#makingOffer) {
      try {
        await pc.setLocalDescription({ type: 'rollback' });
      } catch (error) {
        this.#host.log('debug', `rollback before ICE restart failed: ${String(error)}`);
      }
    }
    if (pc.signalingState === 'stable') await this.#negotiate(pc, true);
  }

  #stopLadder(): void {
    this.#clearTimer(this.#restartTimer);
    this.#clearTimer(this.#answerTimer);
    this.#restartTimer = this.#answerTimer = undefined;
  }

  #clearTimer(timer: Timer | undefined): void {
    if (timer !== undefined) clearTimeout(timer);
  }

  // ---- media ----

  #onTrack(pc: RTCPeerConnectionLike, event: TrackEventLike): void {
    if (pc !== this.#pc) return;
    const { track, streams } = event;
    const mid = event.transceiver?.mid ?? null;
    const senderTrackId =
      mid === null ? undefined : senderTrackIdsByMid(pc.remoteDescription?.sdp).get(mid);
    const metadata =
      (senderTrackId === undefined ? undefined : this.#trackMetadata.get(senderTrackId)) ??
      this.#trackMetadata.get(track.id) ??
      null;
    this.#emit(new Track({ track, streams: Object.freeze([...streams]), metadata }));
    for (const stream of streams) {
      if (this.#streams.has(stream.id)) continue;
      this.#streams.set(stream.id, stream);
      this.#emit(new StreamAdded({ stream, metadata }));
      this.#watchStream(pc, stream);
    }
    this.#watchTrack(pc, track, streams);
  }

  #watchTrack(
    pc: RTCPeerConnectionLike,
    track: MediaStreamTrackLike,
    streams: readonly MediaStreamLike[],
  ): void {
    if (!track.addEventListener) return;
    const onEnded = (): void => {
      if (pc !== this.#pc) return;
      for (const stream of streams) this.#checkStream(stream);
    };
    track.addEventListener('ended', onEnded);
    this.#cleanups.add(() => track.removeEventListener?.('ended', onEnded));
  }

  #watchStream(pc: RTCPeerConnectionLike, stream: MediaStreamLike): void {
    if (!stream.addEventListener) return;
    const onRemove = (): void => {
      if (pc === this.#pc) this.#checkStream(stream);
    };
    stream.addEventListener('removetrack', onRemove);
    this.#cleanups.add(() => stream.removeEventListener?.('removetrack', onRemove));
  }

  #checkStream(stream: MediaStreamLike): void {
    if (this.#streams.get(stream.id) !== stream) return;
    if (stream.getTracks().every((track) => track.readyState === 'ended')) {
      this.#streams.delete(stream.id);
      this.#emit(new StreamRemoved({ stream }));
    }
  }

  #setState(to: RemotePeerState): void {
    const from = this.#state;
    if (from === to || from === 'closed') return;
    this.#state = to;
    this.#emit(new StateChange<RemotePeerState>({ from, to }));
  }

  #emit(event: PeerEvent): void {
    this.#emitter.emit(event);
  }
}
