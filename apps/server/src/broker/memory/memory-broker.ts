// Over 450 lines: the broker contract on one process, every method beside the state it shares
// (subscriptions, rosters, held sessions, quotas); history and idempotency keys have their own files.
import {
  encodeDirect,
  encodeMessage,
  encodePresence,
  type PresenceMember,
  type StreamPosition,
} from '@metered/protocol';
import {
  DUPLICATE,
  type HistoryPage,
  type HistoryPolicy,
  type Recovery,
} from '../../history/history-types.js';
import type {
  AppUsage,
  Broker,
  BrokerConnection,
  ChannelMessage,
  ClaimedSession,
  DirectMessage,
  HeldIdentity,
  HoldOptions,
  PeerRevocation,
  QuotaResult,
  SubscribeOptions,
} from '../broker.js';
import { fanOutFrame } from '../../outbound.js';
import { AppHistory } from './channel-history.js';
import { IdempotencyKeys } from './idempotency-keys.js';
import { HeldSession } from '../held-session.js';
import { PeerRevocations } from './peer-revocations.js';
import { PresenceRoster, type RosterChange } from './presence-roster.js';

interface Subscription {
  /** The socket; a held session's stand-in until the resuming socket subscribes again. */
  connection: BrokerConnection;
  includeSenderMetadata: boolean;
}

interface ChannelState {
  readonly subscribers: Map<string, Subscription>;
  readonly roster: PresenceRoster;
}

interface AppState {
  readonly connections: Set<BrokerConnection>;
  readonly peers: Map<string, Set<BrokerConnection>>;
  readonly channels: Map<string, ChannelState>;
  readonly channelsOfConnection: Map<string, Set<string>>;
  concurrent: number;
  peakConcurrent: number;
  periodStart: number;
  messagesUsed: number;
  readonly history: AppHistory;
}

export interface MemoryBrokerOptions {
  /** The clock of history ages and idempotency windows. */
  readonly now?: () => number;
  /** Idempotency keys remembered per app at most. */
  readonly maxIdempotencyKeys?: number;
}

interface Hold {
  readonly held: HeldSession;
  readonly binding: string;
  readonly credential: string;
  readonly timer: NodeJS.Timeout;
}

const NO_MEMBERS: readonly PresenceMember[] = Object.freeze([]);

/** The single-process broker: everything in maps, every call synchronous. */
export class MemoryBroker implements Broker {
  private readonly apps = new Map<string, AppState>();
  private readonly revocations = new PeerRevocations();
  private readonly idempotencyKeys = new IdempotencyKeys();
  private readonly now: () => number;
  private readonly maxIdempotencyKeys: number;

  constructor(options: MemoryBrokerOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxIdempotencyKeys = options.maxIdempotencyKeys ?? 100_000;
  }
  /** Held sessions (extension `resume`) by the hash of their credential. */
  private readonly holds = new Map<string, Hold>();
  /** Live connections that negotiated resume, by the hash of their credential. */
  private readonly live = new Map<string, { connection: BrokerConnection; binding: string }>();
  /** The credential of each live connection in {@link live}, by connection id. */
  private readonly liveCredentials = new Map<string, string>();

  private app(appId: string): AppState {
    let state = this.apps.get(appId);
    if (!state) {
      state = {
        connections: new Set(),
        peers: new Map(),
        channels: new Map(),
        channelsOfConnection: new Map(),
        concurrent: 0,
        peakConcurrent: 0,
        periodStart: 0,
        messagesUsed: 0,
        history: new AppHistory(),
      };
      this.apps.set(appId, state);
    }
    return state;
  }

  acquireConnection(appId: string, maxConcurrent: number): boolean {
    const state = this.app(appId);
    if (state.concurrent >= maxConcurrent) return false;
    state.concurrent++;
    state.peakConcurrent = Math.max(state.peakConcurrent, state.concurrent);
    return true;
  }

  releaseConnection(appId: string): void {
    const state = this.app(appId);
    state.concurrent = Math.max(0, state.concurrent - 1);
  }

  attach(connection: BrokerConnection): void {
    const state = this.app(connection.appId);
    state.connections.add(connection);
    let sockets = state.peers.get(connection.peerId);
    if (!sockets) {
      sockets = new Set();
      state.peers.set(connection.peerId, sockets);
    }
    sockets.add(connection);
  }

  detach(connection: BrokerConnection): void {
    this.forgetLive(connection);
    const state = this.app(connection.appId);
    if (!state.connections.delete(connection)) return;
    const channels = state.channelsOfConnection.get(connection.id);
    if (channels) {
      for (const channel of [...channels]) this.unsubscribe(connection, channel);
      state.channelsOfConnection.delete(connection.id);
    }
    const sockets = state.peers.get(connection.peerId);
    if (sockets) {
      sockets.delete(connection);
      if (sockets.size === 0) state.peers.delete(connection.peerId);
    }
    state.concurrent = Math.max(0, state.concurrent - 1);
  }

  subscribe(connection: BrokerConnection, channel: string, options: SubscribeOptions): void {
    const state = this.app(connection.appId);
    let channelState = state.channels.get(channel);
    if (!channelState) {
      channelState = { subscribers: new Map(), roster: new PresenceRoster() };
      state.channels.set(channel, channelState);
    }
    const existing = channelState.subscribers.get(connection.id);
    if (existing) {
      // A resumed connection takes its held membership over here.
      existing.connection = connection;
      existing.includeSenderMetadata = options.includeSenderMetadata;
    } else {
      channelState.subscribers.set(connection.id, {
        connection,
        includeSenderMetadata: options.includeSenderMetadata,
      });
      let channels = state.channelsOfConnection.get(connection.id);
      if (!channels) {
        channels = new Set();
        state.channelsOfConnection.set(connection.id, channels);
      }
      channels.add(channel);
    }
    const change: RosterChange = connection.visibleInPresence
      ? channelState.roster.add(connection.id, connection.peerId, connection.peerMetadata)
      : { kind: 'none' };
    options.beforeAnnounce(
      channelState.roster.members(connection.peerId),
      options.history && this.recovery(state, channel, options.history, options.since),
    );
    this.announce(channel, channelState, connection.peerId, change);
  }

  private recovery(
    state: AppState,
    channel: string,
    policy: HistoryPolicy,
    since: StreamPosition | undefined,
  ): Recovery {
    const now = this.now();
    if (since === undefined) {
      return { position: state.history.position(channel, now), recovered: undefined, replay: [] };
    }
    const page = state.history.read(channel, since, policy.maxReplay, policy, now);
    return {
      position: page.position,
      recovered: page.recovered,
      replay: page.recovered ? page.messages : [],
    };
  }

  unsubscribe(connection: BrokerConnection, channel: string): void {
    const state = this.app(connection.appId);
    const channelState = state.channels.get(channel);
    state.channelsOfConnection.get(connection.id)?.delete(channel);
    if (!channelState || !channelState.subscribers.delete(connection.id)) return;
    const change = channelState.roster.remove(connection.id, connection.peerId);
    this.announce(channel, channelState, connection.peerId, change);
    if (channelState.subscribers.size === 0) state.channels.delete(channel);
  }

  /** Writes a roster change to every subscriber but the sockets of the peer id it is about. */
  private announce(
    channel: string,
    channelState: ChannelState,
    peerId: string,
    change: RosterChange,
  ): void {
    let frames: Buffer[];
    switch (change.kind) {
      case 'none':
        return;
      case 'joined':
        frames = [fanOutFrame(encodePresence(channel, [change.member], NO_MEMBERS))];
        break;
      case 'left':
        frames = [fanOutFrame(encodePresence(channel, NO_MEMBERS, [change.member]))];
        break;
      case 'replaced':
        frames = [
          fanOutFrame(encodePresence(channel, NO_MEMBERS, [change.previous])),
          fanOutFrame(encodePresence(channel, [change.member], NO_MEMBERS)),
        ];
        break;
    }
    for (const { connection } of channelState.subscribers.values()) {
      if (connection.peerId === peerId) continue;
      for (const frame of frames) connection.deliver(frame);
    }
  }

  /** Claims the message's idempotency key; true when it was already claimed in its window. */
  private isDuplicate(appId: string, message: ChannelMessage | DirectMessage): boolean {
    const { idempotency } = message;
    return (
      idempotency !== undefined &&
      !this.idempotencyKeys.claim(
        appId,
        message.from,
        idempotency.key,
        idempotency.windowMs,
        this.maxIdempotencyKeys,
        this.now(),
      )
    );
  }

  publish(appId: string, message: ChannelMessage): number {
    if (this.isDuplicate(appId, message)) return DUPLICATE;
    const state = message.history ? this.app(appId) : this.apps.get(appId);
    let position: StreamPosition | undefined;
    let plain: Buffer | undefined;
    if (message.history && state) {
      const { entry, epoch } = state.history.append(
        message.channel,
        message.history,
        message,
        this.now(),
      );
      position = { offset: entry.offset, epoch };
      plain = fanOutFrame(
        encodeMessage(message.channel, message.from, message.data, undefined, position),
      );
      state.history.charge(message.channel, entry, plain.byteLength, message.history.maxBytes);
    }
    const channelState = state?.channels.get(message.channel);
    if (!channelState) return 0;
    // Encoded once per publish; every receiver gets the same bytes.
    plain ??= fanOutFrame(encodeMessage(message.channel, message.from, message.data));
    let withMetadata: Buffer | undefined;
    let receivers = 0;
    for (const { connection, includeSenderMetadata } of channelState.subscribers.values()) {
      if (connection.id === message.excludeConnectionId) continue;
      if (includeSenderMetadata && message.fromMetadata !== undefined) {
        withMetadata ??= fanOutFrame(
          encodeMessage(
            message.channel,
            message.from,
            message.data,
            message.fromMetadata,
            position,
          ),
        );
        connection.deliver(withMetadata);
      } else connection.deliver(plain);
      receivers++;
    }
    return receivers;
  }

  sendDirect(appId: string, message: DirectMessage): number {
    const sockets = this.apps.get(appId)?.peers.get(message.to);
    if (!sockets || sockets.size === 0) return 0;
    if (this.isDuplicate(appId, message)) return DUPLICATE;
    const text = encodeDirect(message.from, message.data, message.fromMetadata);
    // Usually one socket: a string then; bytes when the peer id has several sockets.
    const frame = sockets.size === 1 ? text : fanOutFrame(text);
    let receivers = 0;
    for (const connection of sockets) {
      if (connection instanceof HeldSession) {
        if (connection.keep(frame)) receivers++;
        continue;
      }
      connection.deliver(frame);
      receivers++;
    }
    return receivers;
  }

  registerResume(connection: BrokerConnection, credential: string, binding: string): void {
    if (!this.apps.get(connection.appId)?.connections.has(connection)) return;
    this.forgetLive(connection);
    this.live.set(credential, { connection, binding });
    this.liveCredentials.set(connection.id, credential);
  }

  private forgetLive(connection: BrokerConnection): void {
    const credential = this.liveCredentials.get(connection.id);
    if (credential === undefined || this.live.get(credential)?.connection !== connection) return;
    this.live.delete(credential);
    this.liveCredentials.delete(connection.id);
  }

  hold(connection: BrokerConnection, options: HoldOptions): void {
    this.forgetLive(connection);
    const state = this.apps.get(connection.appId);
    if (!state?.connections.has(connection)) return;
    const held = new HeldSession(connection, options.maxDirects, () =>
      this.endHold(options.credential),
    );
    this.replace(state, connection, held, true);
    const timer = setTimeout(() => this.endHold(options.credential), options.windowMs);
    timer.unref();
    this.holds.set(options.credential, {
      held,
      binding: options.binding,
      credential: options.credential,
      timer,
    });
  }

  /** A hold that ends unclaimed: the usual departure, members hear `left`. */
  private endHold(credential: string): void {
    const hold = this.holds.get(credential);
    if (!hold) return;
    this.holds.delete(credential);
    clearTimeout(hold.timer);
    this.detach(hold.held);
  }

  resume(
    appId: string,
    credential: string,
    binding: string,
    adopt: (held: HeldIdentity) => BrokerConnection,
  ): ClaimedSession | undefined {
    const live = this.live.get(credential);
    if (live && live.connection.appId === appId && live.binding === binding) {
      // The old socket is still open here (its end not noticed yet): it is held at once, taken
      // over below, and closed without a departure.
      const { connection } = live;
      this.hold(connection, { credential, binding, windowMs: 1_000, maxDirects: 0 });
      connection.close(1001, 'session resumed on another connection');
    }
    const hold = this.holds.get(credential);
    if (!hold || hold.held.appId !== appId || hold.binding !== binding) return undefined;
    this.holds.delete(credential);
    clearTimeout(hold.timer);
    const { held } = hold;
    const state = this.app(appId);
    const connection = adopt({ connectionId: held.id, peerId: held.peerId });
    // Subscriptions keep the stand-in (no channel traffic) until the connection subscribes again.
    this.replace(state, held, connection, false);
    state.concurrent = Math.max(0, state.concurrent - 1);
    return {
      channels: [...(state.channelsOfConnection.get(held.id) ?? [])],
      directs: held.takeDirects(),
    };
  }

  /** Puts `next` where `previous` is (same id): the app's sockets, the peer's, and optionally subscriptions. */
  private replace(
    state: AppState,
    previous: BrokerConnection,
    next: BrokerConnection,
    subscriptions: boolean,
  ): void {
    state.connections.delete(previous);
    state.connections.add(next);
    const sockets = state.peers.get(previous.peerId);
    sockets?.delete(previous);
    let nextSockets = state.peers.get(next.peerId);
    if (!nextSockets) {
      nextSockets = new Set();
      state.peers.set(next.peerId, nextSockets);
    }
    nextSockets.add(next);
    if (!subscriptions) return;
    for (const channel of state.channelsOfConnection.get(previous.id) ?? []) {
      const subscription = state.channels.get(channel)?.subscribers.get(previous.id);
      if (subscription) subscription.connection = next;
    }
  }

  seenIdempotencyKey(appId: string, from: string, key: string): boolean {
    return this.idempotencyKeys.seen(appId, from, key, this.now());
  }

  history(
    appId: string,
    channel: string,
    policy: HistoryPolicy,
    since: StreamPosition | undefined,
    limit: number,
  ): HistoryPage {
    return this.app(appId).history.read(channel, since, limit, policy, this.now());
  }

  /** Bytes of history an app holds on this node (benches, diagnostics). */
  historyBytes(appId: string): number {
    return this.apps.get(appId)?.history.heldBytes ?? 0;
  }

  members(appId: string, channel: string): readonly PresenceMember[] {
    return this.apps.get(appId)?.channels.get(channel)?.roster.members() ?? NO_MEMBERS;
  }

  closePeer(appId: string, peerId: string, code: number, reason: string): number {
    const sockets = this.apps.get(appId)?.peers.get(peerId);
    if (!sockets) return 0;
    const targets = [...sockets];
    for (const connection of targets) connection.close(code, reason);
    return targets.length;
  }

  revokePeerTokens(appId: string, peerId: string, revocation: PeerRevocation, now: number): void {
    this.revocations.revoke(appId, peerId, revocation, now);
  }

  peerRevocation(appId: string, peerId: string, now: number): PeerRevocation | undefined {
    return this.revocations.get(appId, peerId, now);
  }

  closeApp(appId: string, code: number, reason: string): number {
    const state = this.apps.get(appId);
    if (!state) return 0;
    const targets = [...state.connections];
    for (const connection of targets) connection.close(code, reason);
    return targets.length;
  }

  consumeMessage(appId: string, periodStart: number, limit: number): QuotaResult {
    const state = this.app(appId);
    if (state.periodStart !== periodStart) {
      state.periodStart = periodStart;
      state.messagesUsed = 0;
    }
    state.messagesUsed++;
    return { allowed: state.messagesUsed <= limit, used: state.messagesUsed };
  }

  usage(appId: string, periodStart: number): AppUsage {
    const state = this.app(appId);
    return {
      concurrentNow: state.concurrent,
      peakConcurrent: state.peakConcurrent,
      messagesUsed: state.periodStart === periodStart ? state.messagesUsed : 0,
    };
  }

  close(): void {
    for (const hold of this.holds.values()) clearTimeout(hold.timer);
    this.holds.clear();
    this.live.clear();
    this.liveCredentials.clear();
    this.apps.clear();
    this.revocations.clear();
    this.idempotencyKeys.clear();
  }
}
