import { randomUUID } from 'node:crypto';
import type { PresenceMember } from '@metered/protocol';
import type { Logger } from 'pino';
import { fanOutFrame, type OutboundFrame } from '../../outbound.js';
import { presenceSnapshotFrames } from '../../presence-snapshot-frames.js';
import type { BrokerConnection } from '../broker.js';
import type { BusEvent, MessageEvent } from './bus-events.js';
import { noteMessage, syncRoster, type RosterChange } from './channel-continuity.js';
import { MessageFrames } from './deliver-bus-event.js';
import type { LocalChannel, LocalIndex, LocalSubscription } from './local-index.js';

export interface BusCatchUpOptions {
  readonly local: LocalIndex;
  readonly logger: Logger;
  /** The shard of an app's events. */
  readonly shardOf: (appId: string) => number;
  /** Runs `meteredCatchUp` for the current node session (its arguments after node and shard). */
  readonly read: (shard: number, args: (string | number)[]) => Promise<unknown>;
  /** Handles one event as if it had been read live. */
  readonly handle: (event: BusEvent) => void;
  /** Closes one local socket with 1013 (it also leaves Redis). */
  readonly closeConnection: (connection: BrokerConnection) => void;
  /** Gives a shard up: every local socket of its apps closed with 1013, as without catch-up. */
  readonly drop: (shard: number) => void;
  /** Longest a shard may stay unread (reconnect and catch-up) before it is given up. */
  readonly maxWaitMs: number;
  /** Bound of the events buffered meanwhile (characters), and of what is read back (bytes). */
  readonly maxBytes: number;
}

interface ShardCatchUp {
  readonly timer: NodeJS.Timeout;
  readonly buffer: BusEvent[];
  bufferedBytes: number;
  /** Set once the shard is read again and its catch-up read was sent. */
  reading?: {
    readonly token: string;
    readonly channels: readonly LocalChannel[];
    readonly apps: readonly string[];
    /** The buffer's length when the read's mark arrived: events before it are reflected in it. */
    marked?: number;
    reply?: CatchUpReply;
    readonly done: () => void;
    readonly finished: Promise<void>;
  };
}

/** `meteredCatchUp`'s reply: per app its inbox counter, per channel roster and history. */
interface CatchUpReply {
  readonly c: number[] | Record<string, never>;
  readonly ch: {
    r: string[] | Record<string, never>;
    h: 0 | 1;
    e: string[] | Record<string, never>;
  }[];
}

function list<T>(value: T[] | Record<string, never>): T[] {
  return Array.isArray(value) ? value : [];
}

/** A history entry as the scripts keep it: `<ms>|<message event>`. */
function entryEvent(text: string): MessageEvent {
  return JSON.parse(text.slice(text.indexOf('|') + 1)) as MessageEvent;
}

/**
 * Makes a node's sockets whole after Redis dropped one bus shard's subscriber connection (its
 * output buffer overflowed, `CLIENT KILL`), instead of closing every socket of the shard's apps.
 * While the shard is not read, nothing of it reaches the node; once it is read again, one script
 * reads, in one step, what the node needs and marks that step in the shard's inbox:
 *
 * - channel messages: the messages after the position each channel's subscribers were last
 *   given, from the channel's history; they are delivered in offset order, and the messages read
 *   live meanwhile are buffered and delivered after them, each offset once;
 * - presence: the roster, against the roster the subscribers know; the change is delivered as
 *   `presence` frames (`left` then `joined`), the ones protocol v1 clients get live;
 * - directs, kicks and app-wide closes: how many the cluster sent to this node per app, against
 *   how many the node read.
 *
 * What cannot be made whole is closed with 1013 as before: the subscribers of a channel without
 * history, or whose missed messages are no longer all kept (trimmed, expired, another epoch,
 * more than the replay limit, a roster and history past the byte budget), and every local socket of an app that missed a
 * direct, a kick or an app-wide close. A shard not read again within `maxWaitMs`, or whose
 * buffered events pass `maxBytes`, is given up the old way.
 */
export class BusCatchUp {
  private readonly shards = new Map<number, ShardCatchUp>();
  /** Per app: directs, kicks and app-wide closes read during this node session. */
  private readonly received = new Map<string, number>();

  constructor(private readonly options: BusCatchUpOptions) {}

  /** The shard's connection was lost: buffer what comes until it is caught up. */
  lost(shard: number): void {
    const state = this.shards.get(shard);
    if (state?.reading !== undefined) {
      // Lost again while catching up: what the read covered is unsure now.
      this.giveUp(shard, 'bus shard lost again while catching up');
      return;
    }
    if (state !== undefined) return;
    const timer = setTimeout(
      () => this.giveUp(shard, 'bus shard not read again in time'),
      this.options.maxWaitMs,
    );
    timer.unref();
    this.shards.set(shard, { timer, buffer: [], bufferedBytes: 0 });
  }

  /**
   * An event read on a shard's connection (`bytes` its length): counted, and buffered while the
   * shard catches up. False when it is to be handled now.
   */
  intercept(shard: number, event: BusEvent, bytes: number): boolean {
    if (event.t === 'd' || event.t === 'kp' || event.t === 'ka') {
      this.received.set(event.a, (this.received.get(event.a) ?? 0) + 1);
    }
    const state = this.shards.get(shard);
    if (state === undefined) return false;
    const { reading } = state;
    if (event.t === 'cm') {
      if (reading !== undefined && event.k === reading.token) {
        reading.marked = state.buffer.length;
        this.finishIfRead(shard, state);
      }
      return true;
    }
    state.buffer.push(event);
    state.bufferedBytes += bytes;
    if (state.bufferedBytes > this.options.maxBytes) {
      this.giveUp(shard, 'too many bus events while catching up');
    }
    return true;
  }

  /** The shard is read again: resolves once it is caught up (or given up). */
  back(shard: number): Promise<void> {
    const state = this.shards.get(shard);
    if (state === undefined) return Promise.resolve();
    if (state.reading !== undefined) return state.reading.finished;
    const inShard = (appId: string): boolean => this.options.shardOf(appId) === shard;
    const { local, maxBytes } = this.options;
    const apps = local.appIdsWhere(inShard);
    const channels = local.channelsWhere(inShard);
    const token = randomUUID();
    const now = Date.now();
    const args: (string | number)[] = [token, maxBytes, apps.length, ...apps];
    for (const { appId, channel, continuity } of channels) {
      const history = continuity?.history;
      const position = continuity?.position;
      const replayable =
        history !== undefined && position !== undefined && !continuity?.unpositioned;
      args.push(
        appId,
        channel,
        replayable ? position.offset : '',
        replayable ? position.epoch : '',
        history?.maxReplay ?? 0,
        now - (history?.ttlMs ?? 0),
      );
    }
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    state.reading = { token, channels, apps, done, finished };
    this.options.read(shard, args).then(
      (reply) => {
        if (this.shards.get(shard) !== state) return;
        (state.reading as NonNullable<ShardCatchUp['reading']>).reply = JSON.parse(
          String(reply),
        ) as CatchUpReply;
        this.finishIfRead(shard, state);
      },
      (error: unknown) => {
        if (this.shards.get(shard) !== state) return;
        this.options.logger.warn({ err: error, shard }, 'redis broker: bus catch-up failed');
        this.giveUp(shard, 'bus catch-up read failed');
      },
    );
    return finished;
  }

  /** The node session ended: its sockets are closed elsewhere, nothing is caught up. */
  reset(): void {
    for (const shard of [...this.shards.keys()]) this.end(shard);
    this.received.clear();
  }

  private giveUp(shard: number, reason: string): void {
    if (!this.shards.has(shard)) return;
    this.options.logger.warn({ shard, reason }, 'redis broker: bus shard given up');
    this.end(shard);
    this.options.drop(shard);
  }

  private end(shard: number): void {
    const state = this.shards.get(shard);
    if (state === undefined) return;
    this.shards.delete(shard);
    clearTimeout(state.timer);
    state.reading?.done();
  }

  private finishIfRead(shard: number, state: ShardCatchUp): void {
    const reading = state.reading;
    if (reading?.reply === undefined || reading.marked === undefined) return;
    this.shards.delete(shard);
    clearTimeout(state.timer);
    try {
      this.apply(reading.apps, reading.channels, reading.reply, state.buffer, reading.marked);
    } catch (error) {
      this.options.logger.error({ err: error, shard }, 'redis broker: bus catch-up failed');
      this.options.drop(shard);
    }
    reading.done();
  }

  private apply(
    apps: readonly string[],
    channels: readonly LocalChannel[],
    reply: CatchUpReply,
    buffer: readonly BusEvent[],
    marked: number,
  ): void {
    const { local, handle } = this.options;
    const closed = new Set<BrokerConnection>();
    const close = (connection: BrokerConnection): void => {
      if (closed.has(connection)) return;
      closed.add(connection);
      this.options.closeConnection(connection);
    };
    // Directs, kicks or app-wide closes the node did not read: their targets are unknown.
    const counters = list(reply.c);
    apps.forEach((appId, index) => {
      if ((counters[index] ?? 0) > (this.received.get(appId) ?? 0)) {
        for (const connection of local.connectionsOf(appId)) close(connection);
      }
    });
    const results = list(reply.ch);
    let missedMessages = 0;
    let closedChannels = 0;
    channels.forEach(({ appId, channel }, index) => {
      const subscribers = local.subscribers(appId, channel);
      const continuity = local.continuity(appId, channel);
      const result = results[index];
      if (subscribers === undefined || result === undefined) return;
      if (continuity === undefined || result.h !== 1) {
        closedChannels += 1;
        for (const { connection } of [...subscribers.values()]) close(connection);
        return;
      }
      const members = list(result.r).map((text) => JSON.parse(text) as PresenceMember);
      deliverRosterChange(channel, syncRoster(continuity, members), subscribers.values());
      const missed = list(result.e)
        .map(entryEvent)
        .filter((event) => noteMessage(continuity, event));
      missedMessages += missed.length;
      deliverMissed(missed, subscribers.values());
    });
    // Read live after the shard was read again: presence before the mark is in the roster read,
    // messages are delivered past the positions only.
    buffer.forEach((event, index) => {
      if (index < marked && event.t === 'p') return;
      handle(event);
    });
    this.options.logger.info(
      { missedMessages, closedChannels, closedSockets: closed.size, buffered: buffer.length },
      'redis broker: bus shard caught up',
    );
  }
}

/**
 * Writes the missed messages of a channel to its subscribers, in offset order, each frame encoded
 * once: in pages within each socket's outbound bound (a catch-up can be far more than a socket
 * takes at once), the messages read live after them waiting behind.
 */
function deliverMissed(
  events: readonly MessageEvent[],
  subscriptions: Iterable<LocalSubscription>,
): void {
  if (events.length === 0) return;
  const frames = events.map((event) => new MessageFrames(event));
  function* framesFor(subscription: LocalSubscription): Generator<OutboundFrame> {
    for (const message of frames) {
      const frame = message.for(subscription);
      if (frame !== undefined) yield frame;
    }
  }
  for (const subscription of [...subscriptions]) {
    const { connection } = subscription;
    if (connection.deliverInPages !== undefined) connection.deliverInPages(framesFor(subscription));
    else for (const frame of framesFor(subscription)) connection.deliver(frame);
  }
}

/** Writes a roster change to a channel's subscribers, each without its own peer id. */
function deliverRosterChange(
  channel: string,
  change: RosterChange,
  subscribers: Iterable<{ connection: BrokerConnection }>,
): void {
  if (change.joined.length === 0 && change.left.length === 0) return;
  const frames = (exclude?: string): OutboundFrame[] => {
    const keep = (member: PresenceMember): boolean => member.peerId !== exclude;
    const left = change.left.filter(keep);
    const joined = change.joined.filter(keep);
    return [
      ...(left.length > 0 ? presenceSnapshotFrames(channel, left, 'left') : []),
      ...(joined.length > 0 ? presenceSnapshotFrames(channel, joined) : []),
    ].map(fanOutFrame);
  };
  const changed = new Set([...change.joined, ...change.left].map((member) => member.peerId));
  const shared = frames();
  for (const { connection } of [...subscribers]) {
    const own = changed.has(connection.peerId) ? frames(connection.peerId) : shared;
    for (const frame of own) connection.deliver(frame);
  }
}
