import {
  MeteredPeerOversizedError,
  MeteredPeerReplaceTrackError,
  MeteredPeerSendError,
  MeteredPeerStateError,
  MeteredRealtimeError,
  SignallingConnectError,
  type MeteredPeerStateErrorMethod,
  type ReplaceTrackFailure,
} from '@metered/errors';
import {
  isReservedChannel,
  isValidPeerId,
  parseRtcSignal,
  payloadSize,
  trackMetaPayload,
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
  type PresencePeer,
  type SignallingLogger,
} from '@metered/signalling';
import { Emitter, type EventClass, type EventHandler } from './emitter.js';
import { Data, FatalError, Joined, Left, StateChange, type PeerEvent } from './events.js';
import { PeerJoined, PeerLeft } from './membership-events.js';
import type { MeteredPeerState } from './states.js';
import { METERED_PEER_DEFAULTS, type MeteredPeerOptions } from './options.js';
import { RemotePeer, type LocalTrack, type RemotePeerHost } from './remote-peer.js';
import type {
  MediaStreamLike,
  MediaStreamTrackLike,
  PeerConnectionConfig,
  RTCPeerConnectionFactory,
  RTCPeerConnectionLike,
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

type Timer = ReturnType<typeof setTimeout>;

const {
  maxRemotePeers,
  reconcileTimeoutMs,
  maxResubscribes,
  maxHeldDirects,
  defaultMaxMessageSize,
} = METERED_PEER_DEFAULTS;

function defaultFactory(): RTCPeerConnectionFactory | undefined {
  const Constructor = (
    globalThis as {
      RTCPeerConnection?: new (config: PeerConnectionConfig) => RTCPeerConnectionLike;
    }
  ).RTCPeerConnection;
  return Constructor ? (config) => new Constructor(config) : undefined;
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
  readonly #remotes = new Map<string, RemotePeer>();
  readonly #tracks = new Map<MediaStreamTrackLike, LocalTrack>();
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
  #heldDirects: Direct[] | undefined;
  #reconciling = false;
  #reconcileTimer: Timer | undefined;
  /** Members missing from the last roster, kept until the deadline in case they are only late. */
  readonly #late = new Set<string>();
  #lateTimer: Timer | undefined;
  /** The server announced its shutdown on this connection. */
  #goingAway = false;
  #resubscribes = 0;
  #closing: Promise<void> | undefined;
  readonly #onRemoteListenerError: (error: unknown) => void;

  constructor(options: MeteredPeerOptions) {
    if (options.autoResubscribe === false) {
      throw new TypeError('MeteredPeer needs autoResubscribe: its reconcile relies on it');
    }
    const factory = options.rtcPeerConnectionFactory ?? defaultFactory();
    if (!factory) {
      throw new TypeError('no global RTCPeerConnection: pass rtcPeerConnectionFactory');
    }
    this.#factory = factory;
    this.#logger = options.logger;
    this.#client = options.signallingClient ?? new SignallingClient(options);
    this.#emitter = new Emitter((error) => this.#log('warn', `listener threw: ${String(error)}`));
    const onListenerError = (error: unknown): void =>
      this.#log('warn', `listener threw: ${String(error)}`);
    this.#host = {
      createPeerConnection: () => this.#factory(this.#config()),
      signal: (peerId, payload) => {
        this.#client.send(peerId, payload).catch((error: unknown) => {
          this.#log('debug', `signal to ${peerId} not delivered: ${String(error)}`);
        });
      },
      sendTo: (peerId, data) => this.sendTo(peerId, data),
      localTracks: () => this.#tracks,
      log: (level, message) => this.#log(level, message),
    };
    this.#onRemoteListenerError = onListenerError;
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
    return this.#remotes;
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
    if (validateChannelName(channel) !== null) throw new TypeError('invalid channel name');
    const includeSenderMetadata = options.includeSenderMetadata === true;
    this.#target = channel;
    this.#includeSenderMetadata = includeSenderMetadata;
    this.#heldPresence = [];
    this.#heldDirects = [];
    this.#setState('joining');
    let subscribing = false;
    try {
      await this.#client.connect();
      if (this.#currentState() !== 'joining')
        throw new MeteredPeerStateError(this.#stateOptions('join'));
      subscribing = true;
      await this.#client.subscribe(channel, { includeSenderMetadata });
      if (this.#currentState() !== 'joining')
        throw new MeteredPeerStateError(this.#stateOptions('join'));
    } catch (error) {
      if (this.#currentState() === 'joining') {
        this.#target = null;
        this.#heldPresence = [];
        this.#heldDirects = undefined;
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
    for (const event of presence) this.#applyPresence(event);
    this.#releaseDirects();
  }

  /** Publishes `data` to the channel (every other member gets a broadcast {@link Data}). */
  async send(data: unknown): Promise<void> {
    this.#checkPayload(data);
    if (this.#state !== 'joined') throw new MeteredPeerSendError({ code: 'not_joined' });
    return this.#client.publish(this.#target as string, data);
  }

  /** Sends `data` to one member directly. */
  async sendTo(peerId: string, data: unknown): Promise<void> {
    if (!isValidPeerId(peerId)) {
      throw new MeteredPeerSendError({ code: 'invalid_args', message: 'malformed peer id' });
    }
    this.#checkPayload(data);
    if (this.#state !== 'joined') throw new MeteredPeerSendError({ code: 'not_joined' });
    if (peerId === this.#peerId) throw new MeteredPeerSendError({ code: 'self_send' });
    return this.#client.send(peerId, data);
  }

  /** Sends every track of `stream` to every member, each with `metadata`. */
  addStream(stream: MediaStreamLike, metadata?: JsonObject): void {
    this.#checkMediaState('add_stream', false);
    const tracks = stream.getTracks();
    for (const track of tracks) this.#checkTrack('add_stream', track, stream, metadata);
    for (const track of tracks) this.#addTrack(track, stream, metadata);
  }

  /**
   * Sends a track to every member (and to those who join later). Its metadata reaches each
   * member before the offer that carries the track. Adding the same track with the same stream
   * again is a no-op.
   */
  addTrack(track: MediaStreamTrackLike, stream?: MediaStreamLike, metadata?: JsonObject): void {
    this.#checkMediaState('add_track', false);
    this.#checkTrack('add_track', track, stream, metadata);
    this.#addTrack(track, stream, metadata);
  }

  /** Stops sending every track added with `stream`. */
  removeStream(stream: MediaStreamLike): void {
    this.#checkMediaState('remove_stream', false);
    for (const [track, local] of [...this.#tracks]) {
      if (local.stream === stream) this.#removeTrack(track);
    }
  }

  /** Stops sending a track. */
  removeTrack(track: MediaStreamTrackLike): void {
    this.#checkMediaState('remove_track', false);
    this.#removeTrack(track);
  }

  /**
   * Swaps a sent track for another (or `null`: keep the sender, send nothing) on every member
   * without renegotiating. Rejects with {@link MeteredPeerReplaceTrackError} when it failed on
   * some members.
   */
  async replaceTrack(
    oldTrack: MediaStreamTrackLike,
    newTrack: MediaStreamTrackLike | null,
  ): Promise<void> {
    if (!oldTrack) throw new TypeError('oldTrack is required');
    this.#checkMediaState('replace_track', true);
    const local = this.#tracks.get(oldTrack);
    if (!local) throw new TypeError('oldTrack was not added');
    if (newTrack && newTrack !== oldTrack && this.#tracks.has(newTrack)) {
      throw new MeteredPeerStateError({
        code: 'track_already_attached',
        method: 'replace_track',
        currentState: this.#state,
      });
    }
    const succeeded: string[] = [];
    const failed: ReplaceTrackFailure[] = [];
    const remotes = [...this.#remotes.values()];
    await Promise.all(
      remotes.map(async (remote) => {
        try {
          if (await remote.replaceTrack(oldTrack, newTrack)) succeeded.push(remote.id);
        } catch (err) {
          failed.push({ peerId: remote.id, err });
        }
      }),
    );
    if (newTrack && newTrack !== oldTrack) {
      this.#tracks.delete(oldTrack);
      this.#tracks.set(newTrack, local);
      if (local.metadata) {
        for (const id of succeeded) {
          const remote = this.#remotes.get(id);
          remote?.sendTrackMetadata(oldTrack.id);
          remote?.sendTrackMetadata(newTrack.id, local.metadata);
        }
      }
    }
    if (failed.length > 0) throw new MeteredPeerReplaceTrackError({ succeeded, failed });
  }

  /** The metadata a local track was added with, or `null`. */
  getTrackMetadata(track: MediaStreamTrackLike): JsonObject | null {
    return this.#tracks.get(track)?.metadata ?? null;
  }

  /** The metadata of the first track added with `stream`, or `null`. */
  getStreamMetadata(stream: MediaStreamLike): JsonObject | null {
    for (const local of this.#tracks.values()) {
      if (local.stream === stream && local.metadata) return local.metadata;
    }
    return null;
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
    this.#peerId = event.peerId;
    this.#cap = event.maxMessageSize;
    if (event.iceServers) {
      this.#iceServers = event.iceServers;
      if (this.#remotes.size > 0) {
        const config = this.#config();
        for (const remote of this.#remotes.values()) remote.setConfiguration(config);
      }
    }
    if (event.isReconnect && this.#state === 'reconnecting') {
      this.#reconciling = true;
      this.#heldDirects = [];
      this.#resubscribes = 0;
      this.#armReconcile();
    }
  }

  #onDisconnected(event: Disconnected): void {
    if (event.willReconnect) {
      if (this.#state !== 'joined' && this.#state !== 'reconnecting') return;
      this.#clearReconcile();
      this.#clearLate();
      this.#late.clear();
      this.#reconciling = false;
      this.#heldDirects = undefined;
      this.#setState('reconnecting');
      for (const remote of this.#remotes.values()) remote.markReconnecting();
      return;
    }
    if (this.#state !== 'joined' && this.#state !== 'reconnecting') return;
    const reason = event.reason || `disconnected (code ${event.code})`;
    this.#fatal(
      new SignallingConnectError({
        closeCode: event.code,
        closeReason: event.reason,
        message: `signalling closed for good (code ${event.code})`,
      }),
      reason,
    );
  }

  /** The client closed without a final `Disconnected` (it always sends one; this is a safety net). */
  #onClientClosed(): void {
    if (this.#state !== 'joined' && this.#state !== 'reconnecting') return;
    this.#fatal(new MeteredRealtimeError({ message: 'signalling closed' }), 'signalling closed');
  }

  #onPresence(event: Presence): void {
    if (event.channel !== this.#target) return;
    if (this.#state === 'joining') {
      this.#heldPresence.push(event);
      return;
    }
    if (this.#state !== 'joined' && this.#state !== 'reconnecting') return;
    if (this.#reconciling) this.#reconcile(event);
    else this.#applyPresence(event);
  }

  #onMessage(event: Message): void {
    if (!this.#joined || event.channel !== this.#target) return;
    if (this.#state !== 'joined' && this.#state !== 'reconnecting') return;
    if (event.senderPeerId === this.#peerId) return;
    this.#emit(
      new Data({
        senderPeerId: event.senderPeerId,
        data: event.data,
        kind: 'broadcast',
        senderMetadata: event.senderMetadata,
      }),
    );
  }

  #onDirect(event: Direct): void {
    const held = this.#heldDirects;
    if (held) {
      if (held.length < maxHeldDirects) held.push(event);
      else this.#log('warn', 'direct dropped: too many held while the roster is awaited');
      return;
    }
    if (this.#state !== 'joined' && this.#state !== 'reconnecting') return;
    this.#dispatchDirect(event);
  }

  #dispatchDirect(event: Direct): void {
    const remote = this.#remotes.get(event.senderPeerId);
    if (!remote) {
      this.#log('debug', `direct from non-member ${event.senderPeerId} dropped`);
      return;
    }
    const signal = parseRtcSignal(event.data);
    if (signal) {
      remote.handleSignal(signal);
      return;
    }
    this.#emit(
      new Data({
        senderPeerId: event.senderPeerId,
        data: event.data,
        kind: 'direct',
        senderMetadata: event.senderMetadata,
      }),
    );
  }

  #releaseDirects(): void {
    const held = this.#heldDirects ?? [];
    this.#heldDirects = undefined;
    for (const event of held) {
      if (this.#state === 'joined' || this.#state === 'reconnecting') this.#dispatchDirect(event);
    }
  }

  // ---- membership ----

  #applyPresence(event: Presence): void {
    for (const { peerId } of event.left) {
      if (this.#goingAway && this.#remotes.has(peerId)) {
        // Departures a shutting-down server reports are its own sockets closing: the roster
        // after the reconnect decides whether the member is still there.
        this.#late.add(peerId);
        this.#armLate();
        continue;
      }
      this.#late.delete(peerId);
      this.#removeRemote(peerId);
    }
    for (const member of event.joined) {
      const remote = this.#remotes.get(member.peerId);
      if (remote && this.#late.delete(member.peerId)) {
        remote.reset(member.metadata, this.#peerId ?? '');
        if (this.#late.size === 0) this.#clearLate();
      } else this.#addRemote(member);
    }
  }

  #addRemote({ peerId, metadata }: PresencePeer): void {
    if (peerId === this.#peerId || this.#remotes.has(peerId)) return;
    if (this.#remotes.size >= maxRemotePeers) {
      this.#log('warn', `member ${peerId} ignored: ${maxRemotePeers} remote peers already`);
      return;
    }
    const remote = new RemotePeer(
      peerId,
      metadata,
      this.#peerId ?? '',
      this.#host,
      this.#onRemoteListenerError,
    );
    this.#remotes.set(peerId, remote);
    this.#emit(new PeerJoined({ peer: remote }));
  }

  #removeRemote(peerId: string): void {
    const remote = this.#remotes.get(peerId);
    if (!remote) return;
    this.#remotes.delete(peerId);
    remote.close();
    this.#emit(new PeerLeft({ peer: remote }));
  }

  /**
   * The first presence after a reconnect is the full roster: members in it survive (new
   * connection, `ConnectionReset`), new ones join. Members missing from it may only be late (after
   * a server restart everyone reconnects at once): they stay, `reconnecting`, for the reconcile
   * deadline and survive if presence reports them in time; otherwise they leave.
   */
  #reconcile(event: Presence): void {
    this.#reconciling = false;
    this.#clearReconcile();
    const roster = new Map(event.joined.map((member) => [member.peerId, member]));
    const survivors = [...this.#remotes.values()].filter((remote) => roster.has(remote.id));
    this.#clearLate();
    this.#late.clear();
    for (const remote of this.#remotes.values()) {
      if (!roster.has(remote.id)) this.#late.add(remote.id);
    }
    for (const member of event.joined) {
      if (!this.#remotes.has(member.peerId)) this.#addRemote(member);
    }
    this.#setState('joined');
    for (const remote of survivors) {
      if (this.#remotes.get(remote.id) === remote) {
        remote.reset(roster.get(remote.id)?.metadata ?? null, this.#peerId ?? '');
      }
    }
    if (this.#late.size > 0) this.#armLate();
    this.#releaseDirects();
  }

  /** Late members that presence has not reported by the deadline leave. */
  #armLate(): void {
    if (this.#lateTimer !== undefined) return;
    this.#lateTimer = setTimeout(() => {
      this.#lateTimer = undefined;
      const late = [...this.#late];
      this.#late.clear();
      for (const peerId of late) this.#removeRemote(peerId);
    }, reconcileTimeoutMs);
  }

  #clearLate(): void {
    if (this.#lateTimer !== undefined) clearTimeout(this.#lateTimer);
    this.#lateTimer = undefined;
  }

  #armReconcile(): void {
    this.#clearReconcile();
    this.#reconcileTimer = setTimeout(() => {
      this.#reconcileTimer = undefined;
      if (!this.#reconciling) return;
      if (this.#resubscribes >= maxResubscribes) {
        this.#fatal(
          new MeteredRealtimeError({ message: 'no roster for the channel after a reconnect' }),
          'reconcile timed out',
        );
        return;
      }
      this.#resubscribes++;
      this.#log('warn', `no roster after reconnect; subscribing again (${this.#resubscribes})`);
      this.#client
        .subscribe(this.#target as string, { includeSenderMetadata: this.#includeSenderMetadata })
        .catch((error: unknown) => this.#log('warn', `re-subscribe failed: ${String(error)}`));
      this.#armReconcile();
    }, reconcileTimeoutMs);
  }

  #clearReconcile(): void {
    if (this.#reconcileTimer !== undefined) clearTimeout(this.#reconcileTimer);
    this.#reconcileTimer = undefined;
  }

  // ---- media ----

  #checkMediaState(method: MeteredPeerStateErrorMethod, replacing: boolean): void {
    const state = this.#state;
    if (state === 'leaving' || state === 'closed' || (replacing && state === 'reconnecting')) {
      throw this.#stateError(method);
    }
  }

  #checkTrack(
    method: MeteredPeerStateErrorMethod,
    track: MediaStreamTrackLike,
    stream: MediaStreamLike | undefined,
    metadata: JsonObject | undefined,
  ): void {
    const existing = this.#tracks.get(track);
    if (existing && existing.stream !== stream) {
      throw new MeteredPeerStateError({
        code: 'track_already_attached',
        method,
        currentState: this.#state,
      });
    }
    if (metadata !== undefined) {
      const size = payloadSize(trackMetaPayload(track.id, metadata));
      if (size > this.#cap) throw new MeteredPeerOversizedError({ size, cap: this.#cap });
    }
  }

  #addTrack(
    track: MediaStreamTrackLike,
    stream: MediaStreamLike | undefined,
    metadata: JsonObject | undefined,
  ): void {
    const existing = this.#tracks.get(track);
    if (existing) {
      if (metadata === undefined) return;
      this.#tracks.set(track, { stream, metadata });
      if (this.#state === 'joined') {
        for (const remote of this.#remotes.values()) remote.sendTrackMetadata(track.id, metadata);
      }
      return;
    }
    const local: LocalTrack = { stream, metadata };
    this.#tracks.set(track, local);
    if (this.#state !== 'joined') return;
    for (const remote of this.#remotes.values()) remote.attachTrack(track, local);
  }

  #removeTrack(track: MediaStreamTrackLike): void {
    const local = this.#tracks.get(track);
    if (!local) return;
    this.#tracks.delete(track);
    if (this.#state !== 'joined') return;
    for (const remote of this.#remotes.values()) remote.detachTrack(track, Boolean(local.metadata));
  }

  // ---- helpers ----

  #checkPayload(data: unknown): void {
    if (data === undefined) {
      throw new MeteredPeerSendError({ code: 'invalid_args', message: 'data is undefined' });
    }
    let size: number;
    try {
      size = payloadSize(data);
    } catch (cause) {
      throw new MeteredPeerSendError({ code: 'invalid_args', message: 'data is not JSON', cause });
    }
    if (size > this.#cap) throw new MeteredPeerOversizedError({ size, cap: this.#cap });
  }

  #config(): PeerConnectionConfig {
    const servers = this.#iceServers;
    if (!servers) return {};
    return {
      iceServers: servers.map((server) => ({
        ...server,
        urls: typeof server.urls === 'string' ? server.urls : [...server.urls],
      })),
    };
  }

  #fatal(err: unknown, reason: string): void {
    if (this.#state === 'leaving' || this.#state === 'closed') return;
    this.#emit(new FatalError({ err }));
    void this.#shutdown(reason);
  }

  #shutdown(reason: string): Promise<void> {
    if (this.#closing) return this.#closing;
    const wasJoined = this.#joined;
    this.#setState('leaving');
    this.#clearReconcile();
    this.#clearLate();
    this.#late.clear();
    this.#reconciling = false;
    this.#heldDirects = undefined;
    this.#heldPresence = [];
    for (const peerId of [...this.#remotes.keys()]) this.#removeRemote(peerId);
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

  #stateOptions(method: MeteredPeerStateErrorMethod) {
    return { code: 'invalid_state', method, currentState: this.#state } as const;
  }

  #stateError(method: MeteredPeerStateErrorMethod): MeteredPeerStateError {
    return new MeteredPeerStateError(this.#stateOptions(method));
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
