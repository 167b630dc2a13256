// MeteredPeer: the public surface of a room (join, send, the media methods with their docs) and
// its reaction to each signalling event. About 470 lines because of that documented surface; the
// concepts behind it live in roster-reconciler.ts, local-tracks.ts, held-directs.ts, frame-size.ts
// and peer-connection-config.ts.
import {
  MeteredPeerSendError,
  MeteredPeerStateError,
  MeteredRealtimeError,
  SignallingConnectError,
  type MeteredPeerStateErrorMethod,
} from '@metered/errors';
import {
  isReservedChannel,
  isValidPeerId,
  parseRtcSignal,
  payloadSize,
  validateChannelName,
  type IceServerConfig,
  type JsonObject,
} from '@metered/protocol';
import {
  Connected,
  Direct,
  Disconnected,
  GoingAway,
  Message,
  Presence,
  SignallingClient,
  StateChange as SignallingStateChange,
  TokenProviderError,
  type SignallingLogger,
} from '@metered/signalling';
import { Emitter, type EventClass, type EventHandler } from '@metered/events';
import { Data, FatalError, Joined, Left, StateChange, type PeerEvent } from './events.js';
import type { MeteredPeerState } from './states.js';
import {
  DEFAULT_MAX_MESSAGE_SIZE as defaultMaxMessageSize,
  type MeteredPeerOptions,
} from './options.js';
import { HeldDirects } from './held-directs.js';
import { LocalTracks } from './local-tracks.js';
import { checkFrameSize, dataSize, publishFrameSize, sendFrameSize } from './frame-size.js';
import { defaultPeerConnectionFactory, peerConnectionConfig } from './peer-connection-config.js';
import { RemotePeer, type RemotePeerHost } from './remote-peer.js';
import { RosterReconciler } from './roster-reconciler.js';
import type {
  MediaStreamLike,
  MediaStreamTrackLike,
  RTCPeerConnectionFactory,
} from './rtc-types.js';

declare global {
  // The declarations name `Symbol.asyncDispose` (`await using`). It is in TypeScript's
  // `esnext.disposable` lib and in `@types/node`; this makes it known to an app compiled with an
  // older `lib` too (TypeScript merges the declarations). Types only: nothing changes at run time.
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}

/** Options of {@link MeteredPeer.join}. */
export interface JoinOptions {
  /** Receive each broadcast's sender metadata in {@link Data.senderMetadata}. */
  readonly includeSenderMetadata?: boolean | undefined;
}

/**
 * A member of one WebRTC room: one signalling connection, one channel, and one peer connection to
 * every other member that presence reports. Media and data channels are negotiated with perfect
 * negotiation over direct messages; after a signalling reconnect the room is reconciled against
 * the channel's roster.
 */
export class MeteredPeer {
  readonly #client: SignallingClient;
  readonly #factory: RTCPeerConnectionFactory;
  readonly #logger: SignallingLogger | undefined;
  readonly #emitter: Emitter;
  readonly #tracks: LocalTracks;
  readonly #roster: RosterReconciler;
  readonly #host: RemotePeerHost;
  #unsubscribes: (() => void)[] = [];
  #state: MeteredPeerState = 'idle';
  #peerId: string | null = null;
  /** The channel being joined or joined. */
  #target: string | null = null;
  #joined = false;
  #includeSenderMetadata = false;
  #cap: number = defaultMaxMessageSize;
  #iceServers: readonly IceServerConfig[] | null = null;
  /** Presence frames for the channel that arrived while joining. */
  #heldPresence: Presence[] = [];
  /** Directs that arrived while joining or while a reconnect's roster is awaited. */
  readonly #heldDirects = new HeldDirects();
  /** The server announced its shutdown on this connection. */
  #goingAway = false;
  /** The token provider's last error since the last welcome. */
  #providerError: unknown;
  #closing: Promise<void> | undefined;

  constructor(options: MeteredPeerOptions) {
    if (options.autoResubscribe === false) {
      throw new TypeError('MeteredPeer needs autoResubscribe: its reconcile relies on it');
    }
    const factory = options.rtcPeerConnectionFactory ?? defaultPeerConnectionFactory();
    if (!factory) {
      throw new TypeError('no global RTCPeerConnection: pass rtcPeerConnectionFactory');
    }
    this.#factory = factory;
    this.#logger = options.logger;
    this.#client = options.signallingClient ?? new SignallingClient(options);
    const onListenerError = (error: unknown): void =>
      this.#log('warn', `listener threw: ${String(error)}`);
    this.#emitter = new Emitter(onListenerError);
    this.#roster = new RosterReconciler({
      localPeerId: () => this.#peerId,
      goingAway: () => this.#goingAway,
      createRemote: ({ peerId, metadata }) =>
        new RemotePeer(peerId, metadata, this.#peerId ?? '', this.#host, onListenerError),
      emit: (event) => this.#emit(event),
      rejoined: () => this.#setState('joined'),
      releaseDirects: () => this.#releaseDirects(),
      resubscribe: () => {
        this.#client
          .subscribe(this.#target as string, {
            includeSenderMetadata: this.#includeSenderMetadata,
          })
          .catch((error: unknown) => this.#log('warn', `re-subscribe failed: ${String(error)}`));
      },
      fatal: (err, reason) => this.#fatal(err, reason),
      log: (level, message) => this.#log(level, message),
    });
    this.#tracks = new LocalTracks({
      state: () => this.#state,
      cap: () => this.#cap,
      remotes: this.#roster.remotes,
    });
    this.#host = {
      createPeerConnection: () => this.#factory(peerConnectionConfig(this.#iceServers)),
      signal: (peerId, payload) => {
        // Never a frame the server would close the connection for (a lower cap after a reconnect).
        const size = sendFrameSize(payloadSize(payload), peerId);
        if (size > this.#cap) {
          this.#log(
            'warn',
            `signal to ${peerId} not sent: ${size} B over the cap of ${this.#cap} B`,
          );
          return;
        }
        this.#client.send(peerId, payload).catch((error: unknown) => {
          this.#log('debug', `signal to ${peerId} not delivered: ${String(error)}`);
        });
      },
      sendTo: (peerId, data) => this.sendTo(peerId, data),
      localTracks: () => this.#tracks.byTrack,
      connectionEnded: (peerId) => this.#roster.connectionEnded(peerId),
      log: (level, message) => this.#log(level, message),
    };
    const client = this.#client;
    this.#unsubscribes = [
      client.on(Connected, (event) => this.#onConnected(event)),
      client.on(Disconnected, (event) => this.#onDisconnected(event)),
      client.on(SignallingStateChange, (event) => {
        if (event.to === 'closed') queueMicrotask(() => this.#onClientClosed());
      }),
      client.on(Presence, (event) => this.#onPresence(event)),
      client.on(GoingAway, () => {
        this.#goingAway = true;
      }),
      client.on(Message, (event) => this.#onMessage(event)),
      client.on(Direct, (event) => this.#onDirect(event)),
      client.on(TokenProviderError, (event) => {
        this.#providerError = event.err;
      }),
    ];
  }

  /** `idle → joining → joined ⇄ reconnecting → leaving → closed`. */
  get state(): MeteredPeerState {
    return this.#state;
  }

  /** The local peer id from the server's last welcome, or `null` before it. */
  get peerId(): string | null {
    return this.#peerId;
  }

  /** The joined channel, or `null` before `join()` succeeded. */
  get channel(): string | null {
    return this.#joined ? this.#target : null;
  }

  /** The other members of the channel, by peer id. */
  get remotePeers(): ReadonlyMap<string, RemotePeer> {
    return this.#roster.remotes;
  }

  /** The signalling connection under this peer. */
  get signalling(): SignallingClient {
    return this.#client;
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

  /**
   * Connects if needed and joins `channel`; resolves once the server acknowledged the subscribe.
   * Only from `idle`; on failure the peer is `idle` again and `join` may be retried.
   */
  async join(channel: string, options: JoinOptions = {}): Promise<void> {
    if (this.#state !== 'idle') throw this.#stateError('join');
    if (typeof channel === 'string' && isReservedChannel(channel)) {
      throw new MeteredPeerSendError({ code: 'reserved_channel' });
    }
    if (validateChannelName(channel) !== null) {
      throw new MeteredPeerSendError({ code: 'invalid_args', message: 'invalid channel name' });
    }
    const includeSenderMetadata = options.includeSenderMetadata === true;
    this.#target = channel;
    this.#includeSenderMetadata = includeSenderMetadata;
    this.#heldPresence = [];
    this.#heldDirects.hold();
    this.#setState('joining');
    let subscribing = false;
    try {
      await this.#client.connect();
      if (this.#currentState() !== 'joining') throw this.#stateError('join');
      subscribing = true;
      await this.#client.subscribe(channel, { includeSenderMetadata });
      if (this.#currentState() !== 'joining') throw this.#stateError('join');
    } catch (error) {
      if (this.#currentState() === 'joining') {
        this.#target = null;
        this.#heldPresence = [];
        this.#heldDirects.release();
        if (subscribing && this.#client.state === 'connected') {
          this.#client.unsubscribe(channel).catch(() => {});
        }
        this.#setState('idle');
      }
      throw error;
    }
    this.#joined = true;
    this.#setState('joined');
    this.#emit(new Joined({ peerId: this.#peerId ?? '', channel }));
    const presence = this.#heldPresence;
    this.#heldPresence = [];
    for (const event of presence) this.#roster.apply(event);
    this.#releaseDirects();
  }

  /** Publishes `data` to the channel (every other member gets a broadcast {@link Data}). */
  async send(data: unknown): Promise<void> {
    const bytes = dataSize(data);
    if (this.#state !== 'joined') throw new MeteredPeerSendError({ code: 'not_joined' });
    const channel = this.#target as string;
    checkFrameSize(publishFrameSize(channel, bytes), this.#cap);
    return this.#client.publish(channel, data);
  }

  /** Sends `data` to one member directly. */
  async sendTo(peerId: string, data: unknown): Promise<void> {
    if (!isValidPeerId(peerId)) {
      throw new MeteredPeerSendError({ code: 'invalid_args', message: 'malformed peer id' });
    }
    const bytes = dataSize(data);
    if (this.#state !== 'joined') throw new MeteredPeerSendError({ code: 'not_joined' });
    if (peerId === this.#peerId) throw new MeteredPeerSendError({ code: 'self_send' });
    checkFrameSize(sendFrameSize(bytes, peerId), this.#cap);
    return this.#client.send(peerId, data);
  }

  /** Sends every track of `stream` to every member, each with `metadata`. */
  addStream(stream: MediaStreamLike, metadata?: JsonObject): void {
    this.#tracks.addStream(stream, metadata);
  }

  /**
   * Sends a track to every member (and to those who join later). Its metadata reaches each
   * member before the offer that carries the track. Adding the same track with the same stream
   * again is a no-op.
   */
  addTrack(track: MediaStreamTrackLike, stream?: MediaStreamLike, metadata?: JsonObject): void {
    this.#tracks.addTrack(track, stream, metadata);
  }

  /** Stops sending every track added with `stream`. */
  removeStream(stream: MediaStreamLike): void {
    this.#tracks.removeStream(stream);
  }

  /** Stops sending a track. */
  removeTrack(track: MediaStreamTrackLike): void {
    this.#tracks.removeTrack(track);
  }

  /**
   * Swaps a sent track for another (or `null`: keep the sender, send nothing) on every member
   * without renegotiating. Rejects with {@link MeteredPeerReplaceTrackError} when it failed on
   * some members.
   */
  replaceTrack(
    oldTrack: MediaStreamTrackLike,
    newTrack: MediaStreamTrackLike | null,
  ): Promise<void> {
    return this.#tracks.replaceTrack(oldTrack, newTrack);
  }

  /** The metadata a local track was added with, or `null`. */
  getTrackMetadata(track: MediaStreamTrackLike): JsonObject | null {
    return this.#tracks.metadataOf(track);
  }

  /** The metadata of the first track added with `stream`, or `null`. */
  getStreamMetadata(stream: MediaStreamLike): JsonObject | null {
    return this.#tracks.metadataOfStream(stream);
  }

  /**
   * Leaves for good: every peer connection closes, the signalling connection closes, `Left` is
   * emitted. Idempotent; resolves when the socket has closed.
   */
  close(reason?: string): Promise<void> {
    return this.#shutdown(reason ?? 'closed');
  }

  /** Same as {@link MeteredPeer.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- signalling events ----

  #onConnected(event: Connected): void {
    this.#goingAway = false;
    this.#providerError = undefined;
    this.#peerId = event.peerId;
    this.#cap = event.maxMessageSize;
    if (event.iceServers) {
      this.#iceServers = event.iceServers;
      const { remotes } = this.#roster;
      if (remotes.size > 0) {
        const config = peerConnectionConfig(event.iceServers);
        for (const remote of remotes.values()) remote.setConfiguration(config);
      }
    }
    if (event.isReconnect && this.#state === 'reconnecting') {
      this.#heldDirects.hold();
      this.#roster.start();
    }
  }

  #onDisconnected(event: Disconnected): void {
    if (event.willReconnect) {
      if (!this.#inChannel()) return;
      this.#roster.suspend();
      this.#heldDirects.release();
      this.#setState('reconnecting');
      // A connected call does not depend on its signalling: only the others show it.
      for (const remote of this.#roster.remotes.values()) remote.markReconnecting();
      return;
    }
    if (!this.#inChannel()) return;
    const reason = event.reason || `disconnected (code ${event.code})`;
    this.#fatal(
      new SignallingConnectError({
        closeCode: event.code,
        closeReason: event.reason,
        message: `signalling closed for good (code ${event.code})`,
        // A token provider stuck failing ends the client: its own error is the cause.
        cause: this.#providerError,
      }),
      reason,
    );
  }

  /** The client closed without a final `Disconnected` (it always sends one; this is a safety net). */
  #onClientClosed(): void {
    if (!this.#inChannel()) return;
    this.#fatal(new MeteredRealtimeError({ message: 'signalling closed' }), 'signalling closed');
  }

  #onPresence(event: Presence): void {
    if (event.channel !== this.#target) return;
    if (this.#state === 'joining') {
      this.#heldPresence.push(event);
      return;
    }
    if (!this.#inChannel()) return;
    this.#roster.apply(event);
  }

  #onMessage(event: Message): void {
    if (!this.#joined || event.channel !== this.#target) return;
    if (!this.#inChannel()) return;
    if (event.senderPeerId === this.#peerId) return;
    this.#emitData(event, 'broadcast');
  }

  #onDirect(event: Direct): void {
    if (this.#heldDirects.holding) {
      if (!this.#heldDirects.add(event)) {
        this.#log('warn', 'direct dropped: too many held while the roster is awaited');
      }
      return;
    }
    if (!this.#inChannel()) return;
    this.#dispatchDirect(event);
  }

  #dispatchDirect(event: Direct): void {
    const remote = this.#roster.remotes.get(event.senderPeerId);
    if (!remote) {
      this.#log('debug', `direct from non-member ${event.senderPeerId} dropped`);
      return;
    }
    const signal = parseRtcSignal(event.data);
    if (signal) {
      remote.handleSignal(signal);
      return;
    }
    this.#emitData(event, 'direct');
  }

  #emitData({ senderPeerId, data, senderMetadata }: Message | Direct, kind: Data['kind']): void {
    this.#emit(new Data({ senderPeerId, data, kind, senderMetadata }));
  }

  #releaseDirects(): void {
    for (const event of this.#heldDirects.release()) {
      if (this.#inChannel()) this.#dispatchDirect(event);
    }
  }

  // ---- helpers ----

  #fatal(err: unknown, reason: string): void {
    if (this.#state === 'leaving' || this.#state === 'closed') return;
    this.#emit(new FatalError({ err }));
    void this.#shutdown(reason);
  }

  #shutdown(reason: string): Promise<void> {
    if (this.#closing) return this.#closing;
    const wasJoined = this.#joined;
    this.#setState('leaving');
    this.#roster.stop();
    this.#heldDirects.release();
    this.#heldPresence = [];
    this.#roster.removeAll();
    for (const unsubscribe of this.#unsubscribes) unsubscribe();
    this.#unsubscribes = [];
    this.#closing = this.#client.close().catch(() => {});
    this.#setState('closed');
    this.#emit(
      new Left({
        peerId: this.#peerId,
        channel: wasJoined ? this.#target : null,
        reason,
      }),
    );
    this.#emitter.clear();
    return this.#closing;
  }

  #stateError(method: MeteredPeerStateErrorMethod): MeteredPeerStateError {
    return new MeteredPeerStateError({ code: 'invalid_state', method, currentState: this.#state });
  }

  /** Joined, or rejoining after a signalling drop: the states that handle the channel's events. */
  #inChannel(): boolean {
    return this.#state === 'joined' || this.#state === 'reconnecting';
  }

  /** The state read afresh after an `await` (narrowing does not know it may have changed). */
  #currentState(): MeteredPeerState {
    return this.#state;
  }

  #setState(to: MeteredPeerState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#emit(new StateChange<MeteredPeerState>({ from, to }));
  }

  #emit(event: PeerEvent): void {
    this.#emitter.emit(event);
  }

  #log(level: 'debug' | 'warn', message: string): void {
    this.#logger?.[level]?.(message);
  }
}
