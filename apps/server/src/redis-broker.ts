import { randomUUID } from 'node:crypto';
import {
  encodeDirect,
  encodeMessage,
  encodePresence,
  type JsonObject,
  type PresenceMember,
} from '@metered/protocol';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type {
  AppUsage,
  Broker,
  BrokerConnection,
  ChannelMessage,
  DirectMessage,
  QuotaResult,
  SubscribeOptions,
} from './broker.js';
import { BROKER_UNAVAILABLE_CLOSE_CODE, BrokerUnavailableError } from './broker-unavailable.js';
import { silentLogger } from './logger.js';
import { fanOutFrame } from './outbound.js';
import { REDIS_SCRIPTS, type RedisScriptName } from './redis-scripts.js';

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
  readonly logger?: Logger;
}

export const REDIS_BROKER_DEFAULTS = Object.freeze({
  keyPrefix: 'metered',
  leaseMs: 15_000,
  commandTimeoutMs: 5_000,
});

interface LocalSubscription {
  readonly connection: BrokerConnection;
  includeSenderMetadata: boolean;
}

interface LocalApp {
  readonly connections: Map<string, BrokerConnection>;
  readonly peers: Map<string, Set<BrokerConnection>>;
  readonly channels: Map<string, Map<string, LocalSubscription>>;
  readonly channelsOfConnection: Map<string, Set<string>>;
}

interface PendingSnapshot {
  readonly connection: BrokerConnection;
  readonly channel: string;
  readonly options: SubscribeOptions;
  readonly session: string;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** Events on the bus and the node inboxes (short keys: they cross the network per message). */
type BrokerEvent =
  | {
      t: 'm';
      a: string;
      c: string;
      f: string;
      d?: unknown;
      md?: JsonObject;
      x?: string;
    }
  | {
      t: 'p';
      a: string;
      c: string;
      p: string;
      k: 'j' | 'l' | 'r';
      m: PresenceMember;
      pm?: PresenceMember;
    }
  | { t: 'd'; a: string; to: string; f: string; d?: unknown; md?: JsonObject }
  | { t: 's'; k: string; m: PresenceMember[] }
  | { t: 'kp'; a: string; p: string; code: number; r: string }
  | { t: 'ka'; a: string; code: number; r: string };

const NO_MEMBERS: readonly PresenceMember[] = Object.freeze([]);

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

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
  private readonly prefix: string;
  private readonly leaseMs: number;
  private readonly logger: Logger;
  private readonly command: Redis;
  private readonly subscriber: Redis;
  private readonly local = new Map<string, LocalApp>();
  private readonly pending = new Map<string, PendingSnapshot>();
  private readonly readyWaiters = new Set<() => void>();
  private readonly inflight = new Set<Promise<unknown>>();
  /** The current node session; undefined while not ready. */
  private session: string | undefined;
  /** The session lost last, whose sockets the next session removes from Redis at once. */
  private previousSession: string | undefined;
  private starting = false;
  private closed = false;
  private closePromise: Promise<void> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastErrorLog = 0;

  constructor(options: RedisBrokerOptions) {
    this.prefix = options.keyPrefix ?? REDIS_BROKER_DEFAULTS.keyPrefix;
    this.leaseMs = options.leaseMs ?? REDIS_BROKER_DEFAULTS.leaseMs;
    this.logger = options.logger ?? silentLogger();
    const clientOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? REDIS_BROKER_DEFAULTS.commandTimeoutMs,
      connectTimeout: 5_000,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1_000),
    };
    this.command = new Redis(options.url, { ...clientOptions, connectionName: 'metered-command' });
    this.subscriber = new Redis(options.url, {
      ...clientOptions,
      connectionName: 'metered-subscriber',
    });
    for (const [name, lua] of Object.entries(REDIS_SCRIPTS)) {
      this.command.defineCommand(name, { numberOfKeys: 0, lua });
    }
    for (const client of [this.command, this.subscriber]) {
      client.on('error', (error: Error) => this.logError(error));
      client.on('ready', () => this.startSession());
      client.on('close', () => this.loseSession('connection to Redis lost'));
    }
    this.subscriber.on('message', (_channel: string, text: string) => this.onEvent(text));
    this.command.connect().catch(() => undefined);
    this.subscriber.connect().catch(() => undefined);
  }

  /** True while connected to Redis with a live lease. */
  isReady(): boolean {
    return this.session !== undefined;
  }

  /** The current node session id (changes when the broker reconnects), for diagnostics. */
  get nodeSession(): string | undefined {
    return this.session;
  }

  /** Resolves once ready, or with false after `timeoutMs`. */
  waitUntilReady(timeoutMs: number): Promise<boolean> {
    if (this.session !== undefined) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.readyWaiters.delete(done);
        resolve(this.session !== undefined);
      };
      const timer = setTimeout(done, timeoutMs);
      this.readyWaiters.add(done);
    });
  }

  // ---- session lifecycle ----

  private logError(error: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 5_000) return;
    this.lastErrorLog = now;
    this.logger.warn({ err: error }, 'redis broker: connection error');
  }

  private channelName(kind: 'bus' | 'inbox', node?: string): string {
    return kind === 'bus' ? `${this.prefix}:bus` : `${this.prefix}:inbox:${node}`;
  }

  private script(name: RedisScriptName, ...args: (string | number)[]): Promise<unknown> {
    const call = (this.command as unknown as Record<RedisScriptName, ScriptCall>)[name];
    const promise = call.call(this.command, this.prefix, ...args).catch((error: unknown) => {
      throw new BrokerUnavailableError(`Redis command ${name} failed`, { cause: error });
    });
    this.inflight.add(promise);
    const forget = (): void => {
      this.inflight.delete(promise);
    };
    promise.then(forget, forget);
    return promise;
  }

  private startSession(): void {
    if (this.closed || this.session !== undefined || this.starting) return;
    if (this.command.status !== 'ready' || this.subscriber.status !== 'ready') return;
    this.starting = true;
    const session = randomUUID();
    const run = async (): Promise<void> => {
      await this.subscriber.subscribe(this.channelName('bus'), this.channelName('inbox', session));
      await this.script('meteredRegister', session, this.leaseMs);
      const previous = this.previousSession;
      if (previous !== undefined) {
        // Its sockets were closed when it was lost; if Redis kept them, remove them now.
        await this.script('meteredReap', previous);
        this.previousSession = undefined;
      }
    };
    run().then(
      () => {
        this.starting = false;
        if (this.closed) return;
        if (this.command.status !== 'ready' || this.subscriber.status !== 'ready') {
          this.startSession();
          return;
        }
        this.session = session;
        this.logger.info({ session }, 'redis broker: ready');
        this.heartbeatTimer = setInterval(() => this.heartbeat(session), this.leaseMs / 3);
        this.heartbeatTimer.unref();
        this.sweepTimer = setInterval(() => this.sweep(), this.leaseMs / 2);
        this.sweepTimer.unref();
        this.sweep();
        for (const waiter of [...this.readyWaiters]) waiter();
      },
      (error: unknown) => {
        this.starting = false;
        this.logError(error as Error);
        if (this.closed) return;
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.startSession(), 500);
        this.retryTimer.unref();
      },
    );
  }

  private heartbeat(session: string): void {
    this.script('meteredHeartbeat', session, this.leaseMs).then(
      (renewed) => {
        if (renewed === 0 && this.session === session) {
          this.loseSession('lease expired before it was renewed');
          this.startSession();
        }
      },
      (error: unknown) => this.logError(error as Error),
    );
  }

  private sweep(): void {
    this.script('meteredSweep').then(
      (removed) => {
        if (Number(removed) > 0) {
          this.logger.info({ removed }, 'redis broker: removed the sockets of expired nodes');
        }
      },
      (error: unknown) => this.logError(error as Error),
    );
  }

  /** Drops the session: pending calls fail, local sockets are closed so that clients reconnect. */
  private loseSession(reason: string): void {
    const session = this.session;
    if (session === undefined) return;
    this.session = undefined;
    this.previousSession = session;
    this.logger.warn({ session, reason }, 'redis broker: not ready');
    clearInterval(this.heartbeatTimer);
    clearInterval(this.sweepTimer);
    this.subscriber.unsubscribe(this.channelName('inbox', session)).catch(() => undefined);
    for (const [token, pending] of [...this.pending]) {
      this.pending.delete(token);
      clearTimeout(pending.timer);
      pending.reject(new BrokerUnavailableError(reason));
    }
    const connections = [...this.local.values()].flatMap((app) => [...app.connections.values()]);
    this.local.clear();
    for (const connection of connections) {
      try {
        connection.close(BROKER_UNAVAILABLE_CLOSE_CODE, 'broker unavailable, try again later');
      } catch (error) {
        this.logger.error({ err: error }, 'redis broker: closing a socket failed');
      }
    }
  }

  private requireSession(): string {
    if (this.closed) throw new BrokerUnavailableError('the broker is closed');
    if (this.session === undefined) throw new BrokerUnavailableError('Redis is unavailable');
    return this.session;
  }

  // ---- local state ----

  private localApp(appId: string): LocalApp {
    let app = this.local.get(appId);
    if (!app) {
      app = {
        connections: new Map(),
        peers: new Map(),
        channels: new Map(),
        channelsOfConnection: new Map(),
      };
      this.local.set(appId, app);
    }
    return app;
  }

  private removeLocalSubscription(app: LocalApp, connectionId: string, channel: string): void {
    const subscribers = app.channels.get(channel);
    if (subscribers?.delete(connectionId) && subscribers.size === 0) app.channels.delete(channel);
    app.channelsOfConnection.get(connectionId)?.delete(channel);
  }

  // ---- events ----

  private onEvent(text: string): void {
    let event: BrokerEvent;
    try {
      event = JSON.parse(text) as BrokerEvent;
    } catch {
      return;
    }
    try {
      this.handleEvent(event);
    } catch (error) {
      this.logger.error({ err: error }, 'redis broker: event handling failed');
    }
  }

  private handleEvent(event: BrokerEvent): void {
    switch (event.t) {
      case 'm': {
        const subscribers = this.local.get(event.a)?.channels.get(event.c);
        if (!subscribers) return;
        const data = 'd' in event ? event.d : null;
        // Encoded once per event; every local receiver gets the same bytes.
        const plain = fanOutFrame(encodeMessage(event.c, event.f, data));
        let withMetadata: Buffer | undefined;
        for (const { connection, includeSenderMetadata } of subscribers.values()) {
          if (connection.id === event.x) continue;
          if (includeSenderMetadata && event.md !== undefined) {
            withMetadata ??= fanOutFrame(encodeMessage(event.c, event.f, data, event.md));
            connection.deliver(withMetadata);
          } else connection.deliver(plain);
        }
        return;
      }
      case 'p': {
        const subscribers = this.local.get(event.a)?.channels.get(event.c);
        if (!subscribers) return;
        const frames =
          event.k === 'j'
            ? [fanOutFrame(encodePresence(event.c, [event.m], NO_MEMBERS))]
            : event.k === 'l'
              ? [fanOutFrame(encodePresence(event.c, NO_MEMBERS, [event.m]))]
              : [
                  fanOutFrame(encodePresence(event.c, NO_MEMBERS, [event.pm as PresenceMember])),
                  fanOutFrame(encodePresence(event.c, [event.m], NO_MEMBERS)),
                ];
        for (const { connection } of subscribers.values()) {
          if (connection.peerId === event.p) continue;
          for (const frame of frames) connection.deliver(frame);
        }
        return;
      }
      case 'd': {
        const sockets = this.local.get(event.a)?.peers.get(event.to);
        if (!sockets || sockets.size === 0) return;
        const text = encodeDirect(event.f, 'd' in event ? event.d : null, event.md);
        const frame = sockets.size === 1 ? text : fanOutFrame(text);
        for (const connection of sockets) connection.deliver(frame);
        return;
      }
      case 's': {
        const pending = this.pending.get(event.k);
        if (!pending) return;
        this.pending.delete(event.k);
        clearTimeout(pending.timer);
        const { connection, channel, options } = pending;
        const app = this.local.get(connection.appId);
        if (
          pending.session === this.session &&
          app?.connections.get(connection.id) === connection
        ) {
          let subscribers = app.channels.get(channel);
          if (!subscribers) {
            subscribers = new Map();
            app.channels.set(channel, subscribers);
          }
          const existing = subscribers.get(connection.id);
          if (existing) existing.includeSenderMetadata = options.includeSenderMetadata;
          else {
            subscribers.set(connection.id, {
              connection,
              includeSenderMetadata: options.includeSenderMetadata,
            });
          }
          let channels = app.channelsOfConnection.get(connection.id);
          if (!channels) {
            channels = new Set();
            app.channelsOfConnection.set(connection.id, channels);
          }
          channels.add(channel);
          options.beforeAnnounce(event.m);
        }
        pending.resolve();
        return;
      }
      case 'kp': {
        const sockets = this.local.get(event.a)?.peers.get(event.p);
        if (!sockets) return;
        for (const connection of [...sockets]) connection.close(event.code, event.r);
        return;
      }
      case 'ka': {
        const app = this.local.get(event.a);
        if (!app) return;
        for (const connection of [...app.connections.values()])
          connection.close(event.code, event.r);
        return;
      }
      default:
        return;
    }
  }

  // ---- Broker ----

  async acquireConnection(appId: string, maxConcurrent: number): Promise<boolean> {
    this.requireSession();
    return (await this.script('meteredAcquire', appId, maxConcurrent)) === 1;
  }

  async releaseConnection(appId: string): Promise<void> {
    this.requireSession();
    await this.script('meteredRelease', appId);
  }

  async attach(connection: BrokerConnection): Promise<void> {
    const session = this.requireSession();
    let attached = false;
    try {
      attached =
        (await this.script(
          'meteredAttach',
          session,
          connection.id,
          connection.appId,
          connection.peerId,
        )) === 1;
    } catch (error) {
      throw new BrokerUnavailableError('Redis is unavailable', { cause: error });
    }
    if (!attached || this.session !== session) {
      this.script('meteredRelease', connection.appId).catch(() => undefined);
      throw new BrokerUnavailableError('the node session ended while attaching');
    }
    const app = this.localApp(connection.appId);
    app.connections.set(connection.id, connection);
    let sockets = app.peers.get(connection.peerId);
    if (!sockets) {
      sockets = new Set();
      app.peers.set(connection.peerId, sockets);
    }
    sockets.add(connection);
  }

  async detach(connection: BrokerConnection): Promise<void> {
    const app = this.local.get(connection.appId);
    if (!app || app.connections.get(connection.id) !== connection) return;
    app.connections.delete(connection.id);
    for (const channel of [...(app.channelsOfConnection.get(connection.id) ?? [])]) {
      this.removeLocalSubscription(app, connection.id, channel);
    }
    app.channelsOfConnection.delete(connection.id);
    const sockets = app.peers.get(connection.peerId);
    if (sockets) {
      sockets.delete(connection);
      if (sockets.size === 0) app.peers.delete(connection.peerId);
    }
    if (app.connections.size === 0 && app.channels.size === 0) this.local.delete(connection.appId);
    const session = this.session;
    // Without a session the sweeper (or the next session's start) removes it from Redis.
    if (session === undefined) return;
    await this.script('meteredDetach', session, connection.id, connection.appId, connection.peerId);
  }

  subscribe(
    connection: BrokerConnection,
    channel: string,
    options: SubscribeOptions,
  ): Promise<void> {
    let session: string;
    try {
      session = this.requireSession();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new BrokerUnavailableError());
    }
    const token = randomUUID();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(token)) {
          reject(new BrokerUnavailableError('no presence snapshot from Redis in time'));
        }
      }, 10_000);
      timer.unref();
      this.pending.set(token, { connection, channel, options, session, resolve, reject, timer });
      this.script(
        'meteredSubscribe',
        session,
        connection.id,
        connection.appId,
        connection.peerId,
        connection.visibleInPresence ? '1' : '0',
        channel,
        memberJson(connection),
        token,
      ).then(
        (recorded) => {
          if (recorded === 1) return;
          if (this.pending.delete(token)) {
            clearTimeout(timer);
            reject(new BrokerUnavailableError('the connection is no longer known to Redis'));
          }
        },
        (error: unknown) => {
          if (this.pending.delete(token)) {
            clearTimeout(timer);
            reject(new BrokerUnavailableError('Redis is unavailable', { cause: error }));
          }
        },
      );
    });
  }

  async unsubscribe(connection: BrokerConnection, channel: string): Promise<void> {
    const app = this.local.get(connection.appId);
    if (app) this.removeLocalSubscription(app, connection.id, channel);
    this.requireSession();
    await this.script('meteredUnsubscribe', connection.id, connection.appId, channel);
  }

  async publish(appId: string, message: ChannelMessage): Promise<number> {
    this.requireSession();
    const event = JSON.stringify({
      t: 'm',
      a: appId,
      c: message.channel,
      f: message.from,
      d: message.data,
      md: message.fromMetadata,
      x: message.excludeConnectionId,
    });
    const receivers = await this.script(
      'meteredPublish',
      appId,
      message.channel,
      message.excludeConnectionId ?? '',
      event,
    );
    return Number(receivers);
  }

  async sendDirect(appId: string, message: DirectMessage): Promise<number> {
    this.requireSession();
    const event = JSON.stringify({
      t: 'd',
      a: appId,
      to: message.to,
      f: message.from,
      d: message.data,
      md: message.fromMetadata,
    });
    return Number(await this.script('meteredToPeer', appId, message.to, event));
  }

  async members(appId: string, channel: string): Promise<readonly PresenceMember[]> {
    this.requireSession();
    const key = `${this.prefix}:roster:${appId.length}:${appId}:${channel}`;
    const values = await this.command.hvals(key);
    return values.map((value) => JSON.parse(value) as PresenceMember);
  }

  async closePeer(appId: string, peerId: string, code: number, reason: string): Promise<number> {
    this.requireSession();
    const event = JSON.stringify({ t: 'kp', a: appId, p: peerId, code, r: reason });
    return Number(await this.script('meteredToPeer', appId, peerId, event));
  }

  async closeApp(appId: string, code: number, reason: string): Promise<number> {
    this.requireSession();
    const event = JSON.stringify({ t: 'ka', a: appId, code, r: reason });
    return Number(await this.script('meteredToApp', appId, event));
  }

  async consumeMessage(appId: string, periodStart: number, limit: number): Promise<QuotaResult> {
    this.requireSession();
    const used = Number(await this.script('meteredConsume', appId, String(periodStart)));
    return { allowed: used <= limit, used };
  }

  async usage(appId: string, periodStart: number): Promise<AppUsage> {
    this.requireSession();
    const key = `${this.prefix}:app:${appId.length}:${appId}`;
    const [concurrent, peak, period, used] = await this.command.hmget(key, 'c', 'k', 'qp', 'qu');
    return {
      concurrentNow: Number(concurrent ?? 0),
      peakConcurrent: Number(peak ?? 0),
      messagesUsed: period === String(periodStart) ? Number(used ?? 0) : 0,
    };
  }

  /** Leaves the cluster (this node's remaining sockets are removed at once) and disconnects. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      const session = this.session;
      clearTimeout(this.retryTimer);
      if (session !== undefined) {
        await Promise.allSettled([...this.inflight]);
        await this.script('meteredReap', session).catch(() => undefined);
      }
      this.closed = true;
      this.loseSession('broker closed');
      this.local.clear();
      for (const waiter of [...this.readyWaiters]) waiter();
      await Promise.allSettled([this.quit(this.command), this.quit(this.subscriber)]);
    })();
    return this.closePromise;
  }

  private async quit(client: Redis): Promise<void> {
    if (client.status === 'ready') {
      try {
        await client.quit();
        return;
      } catch {
        // fall through
      }
    }
    client.disconnect();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
