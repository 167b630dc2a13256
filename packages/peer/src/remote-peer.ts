// RemotePeer: one member and the peer connection to it. About 500 lines: the connection's life
// (built, kept or replaced across reconnects, its state and media events) is one state machine;
// negotiation, the ICE-restart ladder and track metadata live in their own files.
import type { RTCDataChannelLike } from '@metered/datachannel';
import { MeteredPeerSendError, MeteredRealtimeError } from '@metered/errors';
import { createRequestId, type JsonObject, type RtcSignal } from '@metered/protocol';
import { Emitter, type EventClass, type EventHandler } from '@metered/events';
import {
  ConnectionReset,
  DataChannelOpened,
  NegotiationError,
  StateChange,
  StreamAdded,
  StreamRemoved,
  Track,
  type PeerEvent,
} from './events.js';
import { IceRestartLadder } from './ice-restart-ladder.js';
import type { LocalTrack } from './local-tracks.js';
import { PerfectNegotiation, type PerfectNegotiationOwner } from './perfect-negotiation.js';
import type {
  MediaStreamLike,
  MediaStreamTrackLike,
  PeerConnectionConfig,
  RTCPeerConnectionLike,
  RTCRtpSenderLike,
  TrackEventLike,
} from './rtc-types.js';
import type { RemotePeerState } from './states.js';
import { TrackMetadata } from './track-metadata.js';

export type { RemotePeerState };

/** What a {@link RemotePeer} needs from the `MeteredPeer` that owns it. */
export interface RemotePeerHost {
  createPeerConnection(): RTCPeerConnectionLike;
  /** Sends a signalling payload (fire and forget, in order). */
  signal(peerId: string, payload: unknown): void;
  /** Sends application data directly. */
  sendTo(peerId: string, data: unknown): Promise<void>;
  localTracks(): ReadonlyMap<MediaStreamTrackLike, LocalTrack>;
  /**
   * The connection closed by itself (a Node connection closes on failure): `true` to build a new
   * one, `false` when the member is leaving anyway.
   */
  connectionEnded(peerId: string): boolean;
  log(level: 'debug' | 'warn', message: string): void;
}

/** The DTLS fingerprint of an SDP: a connection's certificate, so it changes with the connection. */
function fingerprintOf(sdp: string): string | undefined {
  return /^a=fingerprint:\S+ (\S+)/m.exec(sdp)?.[1];
}

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
  readonly #trackMetadata: TrackMetadata;
  readonly #ladder: IceRestartLadder;
  readonly #negotiationOwner: PerfectNegotiationOwner;
  /** The negotiation on the current connection. */
  #negotiation!: PerfectNegotiation;
  /** The other side's id of the connection the current one is negotiated with, once known. */
  #remoteConnectionId: string | undefined;
  /** The DTLS fingerprint of the last description the other side sent for this connection. */
  #remoteFingerprint: string | undefined;
  /**
   * The connection when the signalling last dropped, until this member's presence is confirmed
   * again (`keep` or `reset`); meanwhile offers wait (see `PerfectNegotiation.resume`).
   */
  #connectionAtDrop: RTCPeerConnectionLike | undefined;

  /** Streams seen on this peer, by id. */
  readonly #streams = new Map<string, MediaStreamLike>();
  readonly #cleanups = new Set<() => void>();
  #closed = false;

  /** Built by `MeteredPeer` for each member of its channel; applications never construct one. */
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
    this.#trackMetadata = new TrackMetadata(id, host);
    this.#ladder = new IceRestartLadder({
      restart: (attempt) => {
        host.log('debug', `ICE restart ${attempt} for ${id}`);
        void this.#negotiation.restartIce();
      },
      exhausted: (attempts) => {
        this.#emit(
          new NegotiationError({
            err: new MeteredRealtimeError({
              message: `ICE restart attempts exhausted (${attempts}) for ${id}`,
            }),
          }),
        );
        // No connection stays failed: the next rung is a new one.
        if (!this.#closed) this.#rebuild();
      },
    });
    this.#negotiationOwner = {
      isClosed: () => this.#closed,
      restartPending: () => this.#ladder.awaitingAnswer,
      offersDeferred: () => !!this.#connectionAtDrop,
      started: () => {
        if (this.#state === 'idle') this.#setState('connecting');
      },
      describing: (sdp) => this.#trackMetadata.announceAliases(this.#pc, sdp),
      applied: () => this.#ladder.answered(),
      failed: (event) => this.#emit(event),
    };
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

  /**
   * @internal A signalling payload from this peer. A description from another connection than the
   * one this side is negotiated with (a new connection id, or a new DTLS fingerprint from a peer
   * that sends no ids) means the other side started over: the connection is replaced, then an
   * offer applies to the new one (an answer is dropped: the new connection makes its own offer).
   * Candidates of another connection are dropped.
   */
  handleSignal(signal: RtcSignal): void {
    if (this.#closed) return;
    if (signal.type === 'track-meta') {
      this.#trackMetadata.receive(signal.trackId, signal.metadata);
      return;
    }
    const from = signal.connectionId;
    const known = this.#remoteConnectionId;
    if (signal.type === 'rtc-description') {
      const fingerprint = fingerprintOf(signal.description.sdp);
      const restarted =
        from !== undefined
          ? known !== undefined && from !== known
          : fingerprint !== undefined &&
            this.#remoteFingerprint !== undefined &&
            fingerprint !== this.#remoteFingerprint;
      if (restarted) {
        this.#host.log('debug', `${this.id} started a new connection`);
        this.#rebuild();
        // An answer cannot start the new connection: the new one makes its own offer.
        if (signal.description.type === 'answer') return;
      }
      if (from !== undefined) this.#remoteConnectionId = from;
      this.#remoteFingerprint = fingerprint ?? this.#remoteFingerprint;
    } else if (from !== undefined && known !== undefined && from !== known) {
      return this.#host.log('debug', `candidate of an earlier connection of ${this.id} dropped`);
    }
    this.#negotiation.receive(signal);
  }

  /** @internal Sends a local track's metadata, then attaches the track. */
  attachTrack(track: MediaStreamTrackLike, local: LocalTrack): void {
    if (this.#closed || this.#senders.has(track)) return;
    this.#addSender(this.#pc, track, local);
  }

  /** @internal */
  sendTrackMetadata(trackId: string, metadata?: JsonObject): void {
    if (!this.#closed) this.#trackMetadata.send(trackId, metadata);
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
    const alias = this.#trackMetadata.takeAlias(track);
    if (hadMetadata && alias !== undefined) this.sendTrackMetadata(alias);
  }

  /** @internal Whether a sender of the current connection was added for (or swapped to) `track`. */
  sends(track: MediaStreamTrackLike): boolean {
    return this.#senders.has(track);
  }

  /**
   * @internal Swaps the track on this peer's sender; rejects when the swap fails. With `null` the
   * sender keeps being known under `oldTrack`.
   */
  async replaceTrack(
    oldTrack: MediaStreamTrackLike,
    newTrack: MediaStreamTrackLike | null,
  ): Promise<boolean> {
    const sender = this.#senders.get(oldTrack);
    if (!sender) return false;
    await sender.replaceTrack(newTrack);
    if (newTrack && this.#senders.get(oldTrack) === sender) {
      this.#senders.delete(oldTrack);
      this.#senders.set(newTrack, sender);
    }
    return true;
  }

  /**
   * @internal Whether the current connection outlives a signalling reconnect: it is connected
   * (the other side holds it too, see `RosterReconciler`), nothing was negotiated on it yet, or
   * it was built since the signalling dropped (it is already the new one: replacing it again
   * would leave two offers of ours in flight, and an answer without a connection id cannot say
   * which one it answers). A peer that replaced its own meanwhile is noticed by its next
   * description, or by its connection closing.
   */
  keepsConnection(): boolean {
    const pc = this.#pc;
    if (this.#closed || pc.connectionState === 'closed') return false;
    const atDrop = this.#connectionAtDrop;
    return (
      pc.connectionState === 'connected' ||
      (!pc.localDescription && !pc.remoteDescription) ||
      (!!atDrop && pc !== atDrop)
    );
  }

  /**
   * @internal The signalling connection dropped: a connection not up will be replaced, and until
   * the member's presence is confirmed again no offer goes out (the other side may replace its
   * connection when it reconnects, and an offer reaching the old one would be lost).
   */
  markReconnecting(): void {
    this.#connectionAtDrop = this.#pc;
    if (this.#state !== 'idle' && !this.connected()) this.#setState('reconnecting');
  }

  /** @internal The connection is up: a departure announced by presence may be a blip. */
  connected(): boolean {
    return !this.#closed && this.#pc.connectionState === 'connected';
  }

  /**
   * @internal Survived a signalling reconnect with its connection kept: repairs what the other
   * side may have missed while signalling was down (the local tracks' metadata, an offer lost
   * with the old socket) without a new negotiation, and makes an offer that waited for the
   * member's presence.
   */
  keep(metadata: JsonObject | null): void {
    if (this.#closed) return;
    this.#connectionAtDrop = undefined;
    this.#metadata = metadata;
    for (const [track, local] of this.#host.localTracks()) {
      if (local.metadata && this.#senders.has(track)) {
        this.#trackMetadata.send(track.id, local.metadata);
      }
    }
    this.#negotiation.resume();
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
    this.#connectionAtDrop = undefined;
    this.#metadata = metadata;
    this.#polite = localPeerId < this.id;
    this.#rebuild();
  }

  /** A new connection replaces the current one (`ConnectionReset`). */
  #rebuild(): void {
    this.#negotiation.detach();
    this.#dropConnection();
    // The old connection's streams ended with it; the new one announces its own.
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    for (const stream of streams) this.#emit(new StreamRemoved({ stream }));
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
    this.#remoteConnectionId = this.#remoteFingerprint = undefined;
    this.#negotiation = new PerfectNegotiation(
      pc,
      this.#polite,
      this.id,
      createRequestId(),
      this.#host,
      this.#negotiationOwner,
    );
    pc.oniceconnectionstatechange = () => this.#onIceState(pc);
    pc.onconnectionstatechange = () => this.#onConnectionState(pc);
    pc.ontrack = (event) => this.#onTrack(pc, event);
    pc.ondatachannel = ({ channel }) => {
      if (pc === this.#pc) this.#emit(new DataChannelOpened({ channel }));
    };
    this.#senders.clear();
    this.#trackMetadata.clearAliases();
    for (const [track, local] of this.#host.localTracks()) this.#addSender(pc, track, local);
    return pc;
  }

  /** Sends a local track's metadata, then adds the track to `pc`. */
  #addSender(pc: RTCPeerConnectionLike, track: MediaStreamTrackLike, local: LocalTrack): void {
    if (local.metadata) this.#trackMetadata.send(track.id, local.metadata);
    this.#senders.set(track, local.stream ? pc.addTrack(track, local.stream) : pc.addTrack(track));
  }

  #dropConnection(): void {
    const pc = this.#pc;
    pc.onnegotiationneeded = pc.onicecandidate = null;
    pc.oniceconnectionstatechange = pc.onconnectionstatechange = null;
    pc.ontrack = pc.ondatachannel = null;
    this.#ladder.reset();
    this.#senders.clear();
    for (const cleanup of this.#cleanups) cleanup();
    this.#cleanups.clear();
    try {
      pc.close();
    } catch (error) {
      this.#host.log('warn', `closing the connection to ${this.id} failed: ${String(error)}`);
    }
  }

  // ---- state ----

  #onConnectionState(pc: RTCPeerConnectionLike): void {
    if (pc !== this.#pc) return;
    switch (pc.connectionState) {
      case 'new':
      case 'connecting':
        // A reconnect's new connection keeps showing `reconnecting` until it connects.
        if (this.#state !== 'reconnecting') this.#setState('connecting');
        break;
      case 'connected':
        this.#ladder.reset();
        this.#setState('connected');
        break;
      case 'disconnected':
      case 'failed':
        this.#setState('reconnecting');
        break;
      case 'closed':
        // Closed without our `close()`: dead for good (a Node connection closes on failure).
        // Before the member's presence is confirmed after a drop, it may be replacing its
        // connection as it reconnects (the vendor's SDK does): rebuilt, whether held or not.
        if (!this.#closed && (this.#connectionAtDrop || this.#host.connectionEnded(this.id))) {
          this.#rebuild();
        }
        break;
      default:
        break;
    }
  }

  #onIceState(pc: RTCPeerConnectionLike): void {
    if (pc !== this.#pc) return;
    const state = pc.iceConnectionState;
    if (state === 'connected' || state === 'completed') this.#ladder.reset();
    else if (state === 'failed') this.#ladder.failed();
  }

  // ---- media ----

  #onTrack(pc: RTCPeerConnectionLike, event: TrackEventLike): void {
    if (pc !== this.#pc) return;
    const { track, streams } = event;
    const metadata = this.#trackMetadata.of(pc, event);
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
