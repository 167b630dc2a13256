// Over 450 lines: the whole Broker interface on Redis, one method each; the resume extension's
// holds and claims are in session-holds.ts, the catch-up after a dropped bus connection in
// bus-catch-up.ts, history replies are parsed here, the scripts are in redis-scripts.ts.
import { randomUUID } from 'node:crypto';
import type { PresenceMember, StreamPosition } from '@metered/protocol';
import { STREAM_RETENTION_MS } from '../../history/history-config.js';
import type {
  HistoryEntry,
  HistoryPage,
  HistoryPolicy,
  Recovery,
} from '../../history/history-types.js';
import { newEpoch } from '../memory/channel-history.js';
import type { Logger } from 'pino';
import { silentLogger } from '../../logger.js';
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
import { BROKER_UNAVAILABLE_CLOSE_CODE, BrokerUnavailableError } from '../broker-unavailable.js';
import {
  encodeCloseAppEvent,
  encodeClosePeerEvent,
  encodeDirectEvent,
  encodeMessageEvent,
  parseBusEvent,
  type BusEvent,
  type MessageEvent,
} from './bus-events.js';
import { BusCatchUp } from './bus-catch-up.js';
import { shardOf } from './bus-shards.js';
import { continuityAfterSnapshot, noteMessage, notePresence } from './channel-continuity.js';
import { CleanupRetries } from './cleanup-retries.js';
import { deliverBusEvent } from './deliver-bus-event.js';
import { LocalIndex } from './local-index.js';
import { NodeSession } from './node-session.js';
import { RedisSessionHolds } from './session-holds.js';
import { appCountersKey, idempotencyKey, revocationKey, rosterKey } from './redis-keys.js';

export interface RedisBrokerOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  readonly url: string;
  /** Prefix of every key and pub/sub channel, so several clusters can share one Redis. */
  readonly keyPrefix?: string;
  /**
   * A node's lease: a node that has not renewed it for this long is considered dead and the
   * other nodes remove its sockets (their members hear `left`). Renewed every third of it.
   */
  readonly leaseMs?: number;
  /** How long a Redis command may take before it fails. */
  readonly commandTimeoutMs?: number;
  /**
   * Shards of the bus, each app's events on one, each read on a subscriber connection of its
   * own: when Redis drops one (a flooding app overflowed its output buffer), only the sockets
   * of that shard's apps are closed. The same on every node of the cluster.
   */
  readonly busShards?: number;
  /**
   * Longest a bus shard whose connection Redis dropped may take to be read again and caught up
   * (its sockets made whole from history and rosters); past it they are closed with 1013.
   */
  readonly busCatchUpMs?: number;
  /**
   * Bound of one shard's catch-up: of the events buffered while it runs (characters), and of
   * the rosters and missed messages read back from Redis (bytes); past it, what does not fit is
   * closed with 1013.
   */
  readonly busCatchUpBytes?: number;
  readonly logger?: Logger;
}

export const REDIS_BROKER_DEFAULTS = Object.freeze({
  keyPrefix: 'metered',
  leaseMs: 15_000,
  commandTimeoutMs: 5_000,
  busShards: 4,
  busCatchUpMs: 10_000,
  busCatchUpBytes: 16 * 1024 * 1024,
});

interface PendingSnapshot {
  readonly connection: BrokerConnection;
  readonly channel: string;
  readonly options: SubscribeOptions;
  readonly session: string;
  /** With `since`: the replay, from the subscribe script's reply. */
  readonly replay: Promise<readonly HistoryEntry[]>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** A history entry as the scripts keep it: `<ms>|<message event>`. */
function parseEntry(text: string): HistoryEntry {
  const bar = text.indexOf('|');
  const event = JSON.parse(text.slice(bar + 1)) as MessageEvent;
  return {
    offset: event.o as number,
    from: event.f,
    data: 'd' in event ? event.d : null,
    fromMetadata: event.md,
    timestamp: Number(text.slice(0, bar)),
  };
}

function retentionMs(policy: HistoryPolicy): number {
  return Math.max(policy.ttlMs, STREAM_RETENTION_MS);
}

function memberJson(connection: BrokerConnection): string {
  return JSON.stringify(
    connection.peerMetadata === undefined
      ? { peerId: connection.peerId }
      : { peerId: connection.peerId, metadata: connection.peerMetadata },
  );
}

/**
 * The multi-node broker: every node points at the same Redis. Shared state (rosters, routing
 * tables, counters) lives in Redis and changes through Lua scripts that also publish the
 * resulting events, so each node sees one totally ordered stream on its subscriber connection:
 * the bus (channel messages, presence deltas, app-wide closes) and its own inbox (directs,
 * snapshots, kicks). Each node encodes a frame once per event and writes it to its own sockets.
 *
 * A node holds a lease renewed by heartbeat; the others remove the sockets of a node whose lease
 * expired. When Redis is unreachable the broker is not ready: new connections are refused with
 * {@link BROKER_UNAVAILABLE_CLOSE_CODE} and live sockets are closed with it so that clients
 * reconnect (and resubscribe) once Redis is back.
 */
export class RedisBroker implements Broker {
  /** Publishes and directs count the quota in their script: one round trip each, pipelined. */
  readonly countsQuota = true;
  private readonly prefix: string;
  private readonly busShards: number;
  private readonly logger: Logger;
  private readonly session: NodeSession;
  private readonly local = new LocalIndex();
  private readonly pending = new Map<string, PendingSnapshot>();
  /** Sessions held on this node, by connection id. */
  /** Sessions held on this node (extension `resume`). */
  private readonly holds: RedisSessionHolds;
  private readonly cleanups: CleanupRetries;
  /** Makes sockets whole after a bus shard's connection was dropped (bus-catch-up.ts). */
  private readonly catchUp: BusCatchUp;
  /** How long Redis keeps the records that make the compensating scripts exact. */
  private readonly recordMs: number;
  private closePromise: Promise<void> | undefined;

  constructor(options: RedisBrokerOptions) {
    this.prefix = options.keyPrefix ?? REDIS_BROKER_DEFAULTS.keyPrefix;
    this.logger = options.logger ?? silentLogger();
    const leaseMs = options.leaseMs ?? REDIS_BROKER_DEFAULTS.leaseMs;
    this.busShards = options.busShards ?? REDIS_BROKER_DEFAULTS.busShards;
    this.recordMs = Math.max(60_000, 4 * leaseMs);
    this.cleanups = new CleanupRetries(Math.max(100, leaseMs / 3), 10_000, () =>
      this.logger.warn('redis broker: too many clean-ups waiting for Redis, dropped the oldest'),
    );
    this.session = new NodeSession({
      url: options.url,
      prefix: this.prefix,
      leaseMs,
      commandTimeoutMs: options.commandTimeoutMs ?? REDIS_BROKER_DEFAULTS.commandTimeoutMs,
      logger: this.logger,
      onEvent: (text, shard) => this.onEvent(text, shard),
      busShards: this.busShards,
      onLost: (reason) => this.onSessionLost(reason),
      onShardLost: (shard) => this.onShardLost(shard),
      onShardBack: (shard) => this.catchUp.back(shard),
    });
    this.catchUp = new BusCatchUp({
      local: this.local,
      logger: this.logger,
      shardOf: (appId) => shardOf(appId, this.busShards),
      read: (shard, args) => {
        const session = this.session.id;
        if (session === undefined) return Promise.reject(new BrokerUnavailableError());
        return this.session.script('meteredCatchUp', session, shard, ...args);
      },
      handle: (event) => this.handleEvent(event),
      closeConnection: (connection) => {
        if (this.local.remove(connection)) this.closeLocal(connection);
      },
      drop: (shard) => this.dropShard(shard),
      maxWaitMs: options.busCatchUpMs ?? REDIS_BROKER_DEFAULTS.busCatchUpMs,
      maxBytes: options.busCatchUpBytes ?? REDIS_BROKER_DEFAULTS.busCatchUpBytes,
    });
    this.holds = new RedisSessionHolds({
      session: this.session,
      local: this.local,
      cleanups: this.cleanups,
      logger: this.logger,
      requireApp: (appId) => this.requireApp(appId),
    });
  }

  /** True while connected to Redis with a live lease. */
  isReady(): boolean {
    return this.session.id !== undefined;
  }

  /** The current node session id (changes when the broker reconnects), for diagnostics. */
  get nodeSession(): string | undefined {
    return this.session.id;
  }

  /** Resolves once ready, or with false after `timeoutMs`. */
  waitUntilReady(timeoutMs: number): Promise<boolean> {
    return this.session.waitUntilReady(timeoutMs);
  }

  /** Pending calls fail, local sockets are closed so that clients reconnect. */
  private onSessionLost(reason: string): void {
    this.catchUp.reset();
    for (const [token, pending] of [...this.pending]) {
      this.pending.delete(token);
      clearTimeout(pending.timer);
      pending.reject(new BrokerUnavailableError(reason));
    }
    for (const connection of this.local.takeAll()) {
      try {
        connection.close(BROKER_UNAVAILABLE_CLOSE_CODE, 'broker unavailable, try again later');
      } catch (error) {
        this.logger.error({ err: error }, 'redis broker: closing a socket failed');
      }
    }
  }

  /**
   * A bus shard's connection was lost: its pending subscribes fail (their snapshots may be lost),
   * its sockets stay and are caught up once it is read again.
   */
  private onShardLost(shard: number): void {
    for (const [token, pending] of [...this.pending]) {
      if (shardOf(pending.connection.appId, this.busShards) !== shard) continue;
      this.pending.delete(token);
      clearTimeout(pending.timer);
      pending.reject(new BrokerUnavailableError('bus shard lost'));
    }
    this.catchUp.lost(shard);
  }

  /** Like a lost session, for the apps of one bus shard; their sockets also leave Redis. */
  private dropShard(shard: number): void {
    const inShard = (appId: string): boolean => shardOf(appId, this.busShards) === shard;
    for (const connection of this.local.takeApps(inShard)) this.closeLocal(connection);
  }

  /** Closes a socket taken from the local index with 1013; it also leaves Redis. */
  private closeLocal(connection: BrokerConnection): void {
    const session = this.session.id;
    if (session !== undefined) {
      const { id, appId, peerId } = connection;
      this.cleanups.add(() => this.session.script('meteredDetach', session, id, appId, peerId));
    }
    try {
      connection.close(BROKER_UNAVAILABLE_CLOSE_CODE, 'broker unavailable, try again later');
    } catch (error) {
      this.logger.error({ err: error }, 'redis broker: closing a socket failed');
    }
  }

  /** The current session, when the bus shard of `appId` is read; throws otherwise. */
  private requireApp(appId: string): string {
    return this.session.require(shardOf(appId, this.busShards));
  }

  // ---- events ----

  private onEvent(text: string, shard: number): void {
    const event = parseBusEvent(text);
    if (event === undefined) return;
    try {
      if (this.catchUp.intercept(shard, event, text.length)) return;
      this.handleEvent(event);
    } catch (error) {
      this.logger.error({ err: error }, 'redis broker: event handling failed');
    }
  }

  private handleEvent(event: BusEvent): void {
    if (event.t === 'rc') {
      // A claim by this node was handled where it was made.
      if (event.n !== this.session.id) this.holds.release(event.a, event.c);
      return;
    }
    if (event.t === 'cm') return;
    if (event.t === 'm' || event.t === 'p') {
      const continuity = this.local.continuity(event.a, event.c);
      if (continuity !== undefined) {
        if (event.t === 'p') notePresence(continuity, event);
        // Delivered already (a catch-up read it from history): each offset once.
        else if (!noteMessage(continuity, event)) return;
      }
    }
    if (event.t !== 's') {
      deliverBusEvent(event, this.local);
      return;
    }
    const pending = this.pending.get(event.k);
    if (!pending) return;
    this.pending.delete(event.k);
    clearTimeout(pending.timer);
    const { connection, channel, options } = pending;
    if (pending.session === this.session.id && this.local.has(connection)) {
      this.local.subscribe(connection, channel, options.includeSenderMetadata);
      const { appId } = connection;
      this.local.setContinuity(
        appId,
        channel,
        continuityAfterSnapshot(this.local.continuity(appId, channel), event, options.history),
      );
      let recovery: Recovery | undefined;
      if (options.history !== undefined && event.o !== undefined) {
        recovery = {
          position: { offset: event.o, epoch: event.e as string },
          recovered: event.r === undefined ? undefined : event.r === 1,
          replay: event.r === 1 ? pending.replay : [],
        };
      }
      options.beforeAnnounce(event.m, recovery);
    }
    pending.resolve();
  }

  // ---- Broker ----

  async acquireConnection(appId: string, maxConcurrent: number): Promise<boolean> {
    this.requireApp(appId);
    const token = randomUUID();
    try {
      const taken = await this.session.script(
        'meteredAcquire',
        appId,
        maxConcurrent,
        token,
        this.recordMs,
      );
      return taken === 1;
    } catch (error) {
      // The script may still run (Redis paused, reply lost): give back what it may take.
      this.cleanups.add(() => this.session.script('meteredUnacquire', appId, token, this.recordMs));
      throw error;
    }
  }

  async releaseConnection(appId: string): Promise<void> {
    this.session.require();
    await this.session.script('meteredRelease', appId);
  }

  async attach(connection: BrokerConnection): Promise<void> {
    const session = this.requireApp(connection.appId);
    const { id, appId, peerId } = connection;
    const abandon = (): Promise<unknown> =>
      this.session.script('meteredAbandon', session, id, appId, peerId, this.recordMs);
    let outcome: unknown;
    try {
      outcome = await this.session.script('meteredAttach', session, id, appId, peerId);
    } catch (error) {
      // The script may still run (Redis paused, reply lost): undo it and give the slot back.
      this.cleanups.add(abandon);
      throw new BrokerUnavailableError('Redis is unavailable', { cause: error });
    }
    if (outcome === 0) {
      // The node session was gone: nothing was recorded but the slot.
      this.session.script('meteredRelease', appId).catch(() => undefined);
    } else if (outcome === 1 && this.session.id !== session) {
      // Recorded under a session that ended meanwhile: undo it unless its removal did.
      this.cleanups.add(abandon);
    }
    if (outcome !== 1 || this.session.id !== session) {
      throw new BrokerUnavailableError('the node session ended while attaching');
    }
    this.local.add(connection);
  }

  async detach(connection: BrokerConnection): Promise<void> {
    if (!this.local.remove(connection)) return;
    const session = this.session.id;
    // Without a session the sweeper (or the next session's start) removes it from Redis.
    if (session === undefined) return;
    const { id, appId, peerId } = connection;
    const detach = (): Promise<unknown> =>
      this.session.script('meteredDetach', session, id, appId, peerId);
    try {
      await detach();
    } catch (error) {
      // Idempotent: tried again until Redis answers, so the slot is not held until the lease ends.
      this.cleanups.add(detach);
      throw error;
    }
  }

  // ---- extension resume (session-holds.ts) ----

  registerResume(connection: BrokerConnection, credential: string, binding: string) {
    return this.holds.registerResume(connection, credential, binding);
  }

  hold(connection: BrokerConnection, options: HoldOptions): Promise<void> {
    return this.holds.hold(connection, options);
  }

  resume(
    appId: string,
    credential: string,
    binding: string,
    adopt: (held: HeldIdentity) => BrokerConnection,
  ): Promise<ClaimedSession | undefined> {
    return this.holds.resume(appId, credential, binding, adopt);
  }

  subscribe(
    connection: BrokerConnection,
    channel: string,
    options: SubscribeOptions,
  ): Promise<void> {
    let session: string;
    try {
      session = this.requireApp(connection.appId);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new BrokerUnavailableError());
    }
    const token = randomUUID();
    const { history, since } = options;
    let settleReplay: (entries: readonly HistoryEntry[]) => void = () => undefined;
    let failReplay: (error: Error) => void = () => undefined;
    const replay = new Promise<readonly HistoryEntry[]>((resolve, reject) => {
      settleReplay = resolve;
      failReplay = reject;
    });
    replay.catch(() => undefined);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(token)) {
          reject(new BrokerUnavailableError('no presence snapshot from Redis in time'));
        }
      }, 10_000);
      timer.unref();
      this.pending.set(token, {
        connection,
        channel,
        options,
        session,
        replay,
        resolve,
        reject,
        timer,
      });
      this.session
        .script(
          'meteredSubscribe',
          session,
          connection.id,
          connection.appId,
          connection.peerId,
          connection.visibleInPresence ? '1' : '0',
          channel,
          memberJson(connection),
          token,
          history === undefined ? '0' : '1',
          since === undefined ? '' : since.offset,
          since?.epoch ?? '',
          history?.maxReplay ?? 0,
          Date.now(),
          history?.ttlMs ?? 0,
          newEpoch(),
          history === undefined ? 0 : retentionMs(history),
        )
        .then(
          (reply) => {
            const recorded: unknown = Array.isArray(reply) ? (reply as unknown[])[0] : reply;
            if (recorded === 1) {
              settleReplay((reply as unknown[]).slice(1).map((text) => parseEntry(String(text))));
              return;
            }
            const error = new BrokerUnavailableError('the connection is no longer known to Redis');
            failReplay(error);
            if (this.pending.delete(token)) {
              clearTimeout(timer);
              reject(error);
            }
          },
          (error: unknown) => {
            const unavailable = new BrokerUnavailableError('Redis is unavailable', {
              cause: error,
            });
            failReplay(unavailable);
            if (this.pending.delete(token)) {
              clearTimeout(timer);
              reject(unavailable);
            }
          },
        );
    });
  }

  async unsubscribe(connection: BrokerConnection, channel: string): Promise<void> {
    this.local.unsubscribe(connection, channel);
    this.session.require();
    await this.session.script('meteredUnsubscribe', connection.id, connection.appId, channel);
  }

  async publish(appId: string, message: ChannelMessage): Promise<number> {
    this.session.require();
    const event = encodeMessageEvent(appId, message);
    const { history, idempotency } = message;
    const receivers = await this.session.script(
      'meteredPublish',
      appId,
      message.channel,
      message.excludeConnectionId ?? '',
      event,
      history === undefined ? '0' : '1',
      history?.size ?? 0,
      history?.ttlMs ?? 0,
      history === undefined ? 0 : retentionMs(history),
      Date.now(),
      newEpoch(),
      idempotency?.key ?? '',
      idempotency?.windowMs ?? 0,
      message.from,
      message.quota?.periodStart ?? '',
      message.quota?.limit ?? 0,
    );
    return Number(receivers);
  }

  async sendDirect(appId: string, message: DirectMessage): Promise<number> {
    this.session.require();
    const event = encodeDirectEvent(appId, message);
    const { idempotency, quota } = message;
    const periodStart = quota?.periodStart ?? '';
    const limit = quota?.limit ?? 0;
    if (idempotency === undefined) {
      return Number(
        await this.session.script(
          'meteredToPeer',
          appId,
          message.to,
          event,
          'd',
          periodStart,
          limit,
        ),
      );
    }
    return Number(
      await this.session.script(
        'meteredDirect',
        appId,
        message.to,
        event,
        idempotency.key,
        idempotency.windowMs,
        message.from,
        periodStart,
        limit,
      ),
    );
  }

  async seenIdempotencyKey(appId: string, from: string, key: string): Promise<boolean> {
    this.session.require();
    try {
      return (
        (await this.session.command.exists(idempotencyKey(this.prefix, appId, from, key))) === 1
      );
    } catch (error) {
      throw new BrokerUnavailableError('Redis is unavailable', { cause: error });
    }
  }

  async history(
    appId: string,
    channel: string,
    policy: HistoryPolicy,
    since: StreamPosition | undefined,
    limit: number,
  ): Promise<HistoryPage> {
    this.session.require();
    const reply = (await this.session.script(
      'meteredHistory',
      appId,
      channel,
      since === undefined ? '' : since.offset,
      since?.epoch ?? '',
      limit,
      Date.now(),
      policy.ttlMs,
      newEpoch(),
      retentionMs(policy),
    )) as unknown[];
    return {
      position: { offset: Number(reply[0]), epoch: String(reply[1]) },
      recovered: reply[2] === 1,
      messages: reply.slice(3).map((text) => parseEntry(String(text))),
    };
  }

  async members(appId: string, channel: string): Promise<readonly PresenceMember[]> {
    this.session.require();
    const values = await this.session.command.hvals(rosterKey(this.prefix, appId, channel));
    return values.map((value) => JSON.parse(value) as PresenceMember);
  }

  async closePeer(appId: string, peerId: string, code: number, reason: string): Promise<number> {
    this.session.require();
    const event = encodeClosePeerEvent(appId, peerId, code, reason);
    return Number(await this.session.script('meteredToPeer', appId, peerId, event, 'k'));
  }

  async revokePeerTokens(
    appId: string,
    peerId: string,
    revocation: PeerRevocation,
    now: number,
  ): Promise<void> {
    this.session.require();
    const key = revocationKey(this.prefix, appId, peerId);
    const ttlMs = Math.ceil(revocation.until - now);
    try {
      if (ttlMs <= 0) await this.session.command.del(key);
      else await this.session.command.set(key, JSON.stringify(revocation), 'PX', ttlMs);
    } catch (error) {
      throw new BrokerUnavailableError('Redis is unavailable', { cause: error });
    }
  }

  async peerRevocation(
    appId: string,
    peerId: string,
    now: number,
  ): Promise<PeerRevocation | undefined> {
    this.session.require();
    let text: string | null;
    try {
      text = await this.session.command.get(revocationKey(this.prefix, appId, peerId));
    } catch (error) {
      throw new BrokerUnavailableError('Redis is unavailable', { cause: error });
    }
    if (text === null) return undefined;
    const revocation = JSON.parse(text) as PeerRevocation;
    return revocation.until > now ? revocation : undefined;
  }

  async closeApp(appId: string, code: number, reason: string): Promise<number> {
    this.session.require();
    const event = encodeCloseAppEvent(appId, code, reason);
    return Number(await this.session.script('meteredToApp', appId, event));
  }

  async consumeMessage(appId: string, periodStart: number, limit: number): Promise<QuotaResult> {
    this.session.require();
    const used = Number(await this.session.script('meteredConsume', appId, String(periodStart)));
    return { allowed: used <= limit, used };
  }

  async usage(appId: string, periodStart: number): Promise<AppUsage> {
    this.session.require();
    const [concurrent, peak, period, used] = await this.session.command.hmget(
      appCountersKey(this.prefix, appId),
      'c',
      'k',
      'qp',
      'qu',
    );
    return {
      concurrentNow: Number(concurrent ?? 0),
      peakConcurrent: Number(peak ?? 0),
      messagesUsed: period === String(periodStart) ? Number(used ?? 0) : 0,
    };
  }

  /** Leaves the cluster (this node's remaining sockets are removed at once) and disconnects. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      await this.holds.close();
      if (this.session.id !== undefined) await this.cleanups.flush();
      this.cleanups.close();
      await this.session.close();
      this.local.takeAll();
    })();
    return this.closePromise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
