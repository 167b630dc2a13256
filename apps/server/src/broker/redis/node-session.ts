import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { coalesceWrites, type CorkableTransport } from '../../outbound.js';
import { BrokerUnavailableError } from '../broker-unavailable.js';
import { busChannel, inboxChannel } from './bus-shards.js';
import { redisScripts, type RedisScriptName } from './redis-scripts.js';

export interface NodeSessionOptions {
  readonly url: string;
  readonly prefix: string;
  readonly leaseMs: number;
  readonly commandTimeoutMs: number;
  /** Shards of the bus (bus-shards.ts), each read on a subscriber connection of its own. */
  readonly busShards: number;
  readonly logger: Logger;
  /** One message of the bus or of this node's inbox, in Redis's order on its shard. */
  readonly onEvent: (text: string, shard: number) => void;
  /** The session ended (Redis lost, lease expired, closed): drop what depends on it. */
  readonly onLost: (reason: string) => void;
  /**
   * One shard's subscriber connection closed while the session lives (again, when it closes
   * before the shard was caught up): events of its apps are lost until it is read again.
   */
  readonly onShardLost: (shard: number) => void;
  /**
   * A lost shard is read again: resolves once what was lost meanwhile is made whole (or its
   * sockets closed); the shard takes new subscribers from then on.
   */
  readonly onShardBack: (shard: number) => Promise<void>;
}

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/**
 * A node's membership of the cluster: its Redis connections (commands, and one subscriber per
 * bus shard that reads the shard's bus channel and this node's inbox channel of the shard), the
 * node session registered with its lease, the heartbeat that renews the lease every third of it
 * and the sweep that removes the sockets of nodes whose lease expired, every half lease. A
 * session starts when every connection is ready and ends when the command connection closes or
 * the lease is found gone; the next session first removes what Redis still holds of the previous
 * one. A subscriber connection that closes while the session lives takes down its shard only
 * (`onShardLost`); the shard is read again once that connection is back, and serves again once
 * it is caught up (`onShardBack`).
 *
 * A Redis that stops answering without closing anything (a network partition) is found by the
 * lease itself: each heartbeat also pings the subscriber connections, and when no heartbeat has
 * been answered on both connections for a whole lease (by then the other nodes are removing
 * this node's sockets), the session ends and both connections are dropped and reopened.
 */
export class NodeSession {
  readonly command: Redis;
  private readonly subscribers: readonly Redis[];
  /** Shards whose subscriber connection was lost during the session and is not read again yet. */
  private readonly downShards = new Set<number>();
  /** Per shard, how many times its connection was lost (a catch-up of an older loss is stale). */
  private readonly shardLosses: number[];
  private readonly readyWaiters = new Set<() => void>();
  private readonly inflight = new Set<Promise<unknown>>();
  /** The current node session; undefined while not ready. */
  private session: string | undefined;
  /** The session lost last, whose sockets the next session removes from Redis at once. */
  private previousSession: string | undefined;
  private starting = false;
  private closed = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Fires when the lease would have expired in Redis: no renewal answered since. */
  private leaseTimer: NodeJS.Timeout | undefined;
  private lastErrorLog = 0;

  constructor(private readonly options: NodeSessionOptions) {
    const clientOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: 5_000,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1_000),
    };
    this.command = new Redis(options.url, { ...clientOptions, connectionName: 'metered-command' });
    this.shardLosses = Array.from({ length: options.busShards }, () => 0);
    this.subscribers = Array.from(
      { length: options.busShards },
      (_, shard) =>
        new Redis(options.url, {
          ...clientOptions,
          connectionName:
            options.busShards === 1 ? 'metered-subscriber' : `metered-subscriber-${shard}`,
        }),
    );
    for (const [name, lua] of Object.entries(redisScripts(options.busShards))) {
      this.command.defineCommand(name, { numberOfKeys: 0, lua });
    }
    this.command.on('error', (error: Error) => this.logError(error));
    this.command.on('ready', () => this.start());
    this.command.on('close', () => this.lose('connection to Redis lost'));
    this.subscribers.forEach((subscriber, shard) => {
      subscriber.on('error', (error: Error) => this.logError(error));
      subscriber.on('ready', () => {
        if (this.session === undefined) this.start();
        else this.resubscribe(shard, this.session);
      });
      subscriber.on('close', () => this.loseShard(shard));
      subscriber.on('message', (_channel: string, text: string) => options.onEvent(text, shard));
    });
    this.command.connect().catch(() => undefined);
    for (const subscriber of this.subscribers) subscriber.connect().catch(() => undefined);
  }

  /** The current session id; undefined while not ready. */
  get id(): string | undefined {
    return this.session;
  }

  /**
   * The current session id; throws {@link BrokerUnavailableError} while not ready, or while the
   * bus shard of `shard` (when given) is not read.
   */
  require(shard?: number): string {
    if (this.closed) throw new BrokerUnavailableError('the broker is closed');
    if (this.session === undefined) throw new BrokerUnavailableError('Redis is unavailable');
    if (shard !== undefined && this.downShards.has(shard)) {
      throw new BrokerUnavailableError('the bus shard of this app is reconnecting');
    }
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

  /**
   * Runs one of the broker's Lua scripts (the key prefix goes first). The calls made in one turn
   * of the event loop leave in one write, in the order they were made.
   */
  script(name: RedisScriptName, ...args: (string | number)[]): Promise<unknown> {
    const stream = this.command.stream as CorkableTransport | undefined;
    if (stream !== undefined) coalesceWrites(stream);
    const call = (this.command as unknown as Record<RedisScriptName, ScriptCall>)[name];
    const promise = call
      .call(this.command, this.options.prefix, ...args)
      .catch((error: unknown) => {
        throw new BrokerUnavailableError(`Redis command ${name} failed`, { cause: error });
      });
    this.inflight.add(promise);
    const forget = (): void => {
      this.inflight.delete(promise);
    };
    promise.then(forget, forget);
    return promise;
  }

  /** Leaves the cluster (this node's remaining sockets are removed at once) and disconnects. */
  async close(): Promise<void> {
    const session = this.session;
    clearTimeout(this.retryTimer);
    if (session !== undefined) {
      await Promise.allSettled([...this.inflight]);
      await this.script('meteredReap', session).catch(() => undefined);
    }
    this.closed = true;
    this.lose('broker closed');
    for (const waiter of [...this.readyWaiters]) waiter();
    await Promise.allSettled(
      [this.command, ...this.subscribers].map((client) => this.quit(client)),
    );
  }

  private logError(error: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 5_000) return;
    this.lastErrorLog = now;
    this.options.logger.warn({ err: error }, 'redis broker: connection error');
  }

  private allReady(): boolean {
    return (
      this.command.status === 'ready' &&
      this.subscribers.every((subscriber) => subscriber.status === 'ready')
    );
  }

  private subscribeShard(shard: number, session: string): Promise<unknown> {
    const { prefix, busShards } = this.options;
    return (this.subscribers[shard] as Redis).subscribe(
      busChannel(prefix, shard, busShards),
      inboxChannel(prefix, session, shard, busShards),
    );
  }

  /** A subscriber connection closed: its shard is down until it is read again and caught up. */
  private loseShard(shard: number): void {
    if (this.session === undefined) return;
    this.shardLosses[shard] = (this.shardLosses[shard] ?? 0) + 1;
    if (!this.downShards.has(shard)) {
      this.downShards.add(shard);
      this.options.logger.warn({ shard }, 'redis broker: bus shard lost, reconnecting');
    }
    this.options.onShardLost(shard);
  }

  /** A lost shard's connection is back: read its channels again, then catch up. */
  private resubscribe(shard: number, session: string): void {
    if (!this.downShards.has(shard)) return;
    const losses = this.shardLosses[shard];
    this.subscribeShard(shard, session).then(
      async () => {
        if (this.session !== session) return;
        this.options.logger.info({ shard }, 'redis broker: bus shard read again');
        await this.options.onShardBack(shard);
        if (this.session !== session || this.shardLosses[shard] !== losses) return;
        this.downShards.delete(shard);
      },
      (error: unknown) => {
        this.logError(error as Error);
        // Try again through a fresh connection (its `ready` comes back here).
        this.subscribers[shard]?.disconnect(true);
      },
    );
  }

  private start(): void {
    if (this.closed || this.session !== undefined || this.starting) return;
    if (!this.allReady()) return;
    this.starting = true;
    const session = randomUUID();
    const { leaseMs, logger } = this.options;
    const startedAt = Date.now();
    const run = async (): Promise<void> => {
      await Promise.all(this.subscribers.map((_, shard) => this.subscribeShard(shard, session)));
      await this.script('meteredRegister', session, leaseMs);
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
        if (!this.allReady()) {
          this.start();
          return;
        }
        this.session = session;
        logger.info({ session }, 'redis broker: ready');
        this.watchLease(session, startedAt);
        this.heartbeatTimer = setInterval(() => this.heartbeat(session), leaseMs / 3);
        this.heartbeatTimer.unref();
        this.sweepTimer = setInterval(() => this.sweep(), leaseMs / 2);
        this.sweepTimer.unref();
        this.sweep();
        for (const waiter of [...this.readyWaiters]) waiter();
      },
      (error: unknown) => {
        this.starting = false;
        this.logError(error as Error);
        if (this.closed) return;
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.start(), 500);
        this.retryTimer.unref();
      },
    );
  }

  private heartbeat(session: string): void {
    const sentAt = Date.now();
    Promise.all([
      this.script('meteredHeartbeat', session, this.options.leaseMs),
      ...this.subscribers
        .filter((_, shard) => !this.downShards.has(shard))
        .map((subscriber) => subscriber.ping()),
    ]).then(
      ([renewed]) => {
        if (this.session !== session) return;
        if (renewed === 0) {
          this.lose('lease expired before it was renewed');
          this.start();
          return;
        }
        this.watchLease(session, sentAt);
      },
      (error: unknown) => this.logError(error as Error),
    );
  }

  /** (Re)arms the lease timer: the lease renewed at `renewedAt` lapses a lease later. */
  private watchLease(session: string, renewedAt: number): void {
    clearTimeout(this.leaseTimer);
    this.leaseTimer = setTimeout(
      () => {
        if (this.session !== session) return;
        this.lose('Redis did not answer within the lease');
        // The connections look open but carry nothing: reopen them (ioredis reconnects with
        // backoff, and the next session starts once both are ready).
        for (const client of [this.command, ...this.subscribers]) client.disconnect(true);
      },
      Math.max(0, renewedAt + this.options.leaseMs - Date.now()),
    );
    this.leaseTimer.unref();
  }

  private sweep(): void {
    this.script('meteredSweep').then(
      (removed) => {
        if (Number(removed) > 0) {
          this.options.logger.info(
            { removed },
            'redis broker: removed the sockets of expired nodes',
          );
        }
      },
      (error: unknown) => this.logError(error as Error),
    );
  }

  /** Drops the session; the broker fails pending calls and closes its sockets (`onLost`). */
  private lose(reason: string): void {
    const session = this.session;
    if (session === undefined) return;
    this.session = undefined;
    this.previousSession = session;
    this.options.logger.warn({ session, reason }, 'redis broker: not ready');
    clearInterval(this.heartbeatTimer);
    clearInterval(this.sweepTimer);
    clearTimeout(this.leaseTimer);
    this.downShards.clear();
    const { prefix, busShards } = this.options;
    this.subscribers.forEach((subscriber, shard) => {
      subscriber
        .unsubscribe(inboxChannel(prefix, session, shard, busShards))
        .catch(() => undefined);
    });
    this.options.onLost(reason);
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
}
