import { encodeDirect } from '@metered/protocol';
import type { Logger } from 'pino';
import type { OutboundFrame } from '../../outbound.js';
import type { BrokerConnection, ClaimedSession, HeldIdentity, HoldOptions } from '../broker.js';
import { BrokerUnavailableError } from '../broker-unavailable.js';
import { HeldSession } from '../held-session.js';
import { parseBusEvent, type DirectEvent } from './bus-events.js';
import type { CleanupRetries } from './cleanup-retries.js';
import type { LocalIndex } from './local-index.js';
import type { NodeSession } from './node-session.js';

/** A session this node holds (extension `resume`) until it is claimed or its window passes. */
interface LocalHold {
  readonly held: HeldSession;
  readonly credential: string;
  /** When its window ends (epoch ms). */
  readonly until: number;
  /** The node session it was held under. */
  readonly session: string;
  readonly timer: NodeJS.Timeout;
}

export interface RedisSessionHoldsOptions {
  readonly session: NodeSession;
  readonly local: LocalIndex;
  readonly cleanups: CleanupRetries;
  readonly logger: Logger;
  /** The current node session, when the bus shard of `appId` is read; throws otherwise. */
  readonly requireApp: (appId: string) => string;
}

/**
 * Extension `resume` on the Redis broker: the sessions this node holds and the claims it makes.
 * A held session lives in Redis (`meteredHold`: its credential, its directs kept by the routing
 * script), so any node can claim it (`meteredClaim`); the holding node stands a
 * {@link HeldSession} in for the socket until the claim (it then forgets it without a
 * departure) or the end of the window (it then detaches it: members hear `left`).
 */
export class RedisSessionHolds {
  private readonly holds = new Map<string, LocalHold>();
  /** Holds being recorded in Redis, awaited before the node leaves. */
  private readonly recordingHolds = new Set<Promise<unknown>>();

  constructor(private readonly options: RedisSessionHoldsOptions) {}

  async hold(connection: BrokerConnection, options: HoldOptions): Promise<void> {
    if (!this.options.local.has(connection)) return;
    const session = this.options.session.id;
    if (session === undefined) {
      // Without a session the sweeper (or the next session's start) removes it from Redis.
      this.options.local.remove(connection);
      return;
    }
    const { id, appId, peerId } = connection;
    const held = new HeldSession(connection, options.maxDirects, () => this.endHold(id));
    this.options.local.replace(connection, held);
    const timer = setTimeout(() => this.endHold(id), options.windowMs);
    timer.unref();
    const until = Date.now() + options.windowMs;
    this.holds.set(id, { held, credential: options.credential, session, timer, until });
    const recording = this.options.session.script(
      'meteredHold',
      session,
      id,
      appId,
      peerId,
      options.credential,
      options.binding,
      options.windowMs,
      options.maxDirects,
    );
    this.recordingHolds.add(recording);
    let recorded: unknown;
    try {
      recorded = await recording;
    } catch (error) {
      this.endHold(id);
      throw error;
    } finally {
      this.recordingHolds.delete(recording);
    }
    if (recorded !== 1) this.endHold(id);
  }

  async registerResume(
    connection: BrokerConnection,
    credential: string,
    binding: string,
  ): Promise<void> {
    if (!this.options.local.has(connection)) return;
    const session = this.options.session.require();
    const { id, appId, peerId } = connection;
    await this.options.session.script(
      'meteredRegisterResume',
      session,
      id,
      appId,
      peerId,
      credential,
      binding,
    );
  }

  /**
   * A session of this node was claimed: a hold is forgotten, a live socket (its end not noticed
   * yet) leaves without a departure and is closed. Returns the directs kept while held.
   */
  release(appId: string, connectionId: string): OutboundFrame[] {
    const hold = this.forgetHold(connectionId);
    if (hold !== undefined) return hold.held.takeDirects();
    const live = this.options.local.get(appId, connectionId);
    if (live !== undefined) {
      this.options.local.remove(live);
      live.close(1001, 'session resumed on another connection');
    }
    return [];
  }

  /** A hold that ends unclaimed here (window passed, kick, suspension): members hear `left`. */
  private endHold(connectionId: string): void {
    const hold = this.forgetHold(connectionId);
    if (hold === undefined) return;
    const { id, appId, peerId } = hold.held;
    const end = (): Promise<unknown> =>
      this.options.session.script(
        'meteredEndHold',
        hold.session,
        id,
        appId,
        peerId,
        hold.credential,
      );
    // Idempotent: tried again until Redis answers.
    end().catch(() => this.options.cleanups.add(end));
  }

  /** Forgets a hold of this node without a departure (it was claimed, here or elsewhere). */
  private forgetHold(connectionId: string): LocalHold | undefined {
    const hold = this.holds.get(connectionId);
    if (hold === undefined) return undefined;
    this.holds.delete(connectionId);
    clearTimeout(hold.timer);
    this.options.local.remove(hold.held);
    return hold;
  }

  async resume(
    appId: string,
    credential: string,
    binding: string,
    adopt: (held: HeldIdentity) => BrokerConnection,
  ): Promise<ClaimedSession | undefined> {
    const session = this.options.requireApp(appId);
    let reply: unknown;
    try {
      reply = await this.options.session.script(
        'meteredClaim',
        session,
        credential,
        appId,
        binding,
      );
    } catch (error) {
      throw new BrokerUnavailableError('Redis is unavailable', { cause: error });
    }
    if (!Array.isArray(reply)) return undefined;
    const [connectionId, peerId, count, ...rest] = reply.map(String) as [
      string,
      string,
      string,
      ...string[],
    ];
    const channelCount = Number(count);
    // Directs that reached this node before the hold was recorded in Redis come first.
    const directs = this.release(appId, connectionId);
    for (const text of rest.slice(channelCount)) {
      const event = parseBusEvent(text) as DirectEvent | undefined;
      if (event?.t === 'd') {
        directs.push(encodeDirect(event.f, 'd' in event ? event.d : null, event.md));
      }
    }
    const connection = adopt({ connectionId, peerId });
    this.options.local.add(connection);
    return { channels: rest.slice(0, channelCount), directs };
  }

  /**
   * Sessions still held when the node leaves (a graceful shutdown holds those that negotiated
   * resume) move to a stand-in node session whose lease ends with the last of their windows:
   * any node can still claim them, and the other nodes' sweep removes the rest (their members
   * hear `left`) once it expires.
   */
  private async handOver(session: string): Promise<void> {
    await Promise.allSettled([...this.recordingHolds]);
    const holds = [...this.holds.values()];
    for (const hold of holds) clearTimeout(hold.timer);
    this.holds.clear();
    const remaining = holds.filter((hold) => hold.session === session);
    if (remaining.length === 0) return;
    const leaseMs = Math.max(1, Math.max(...remaining.map((hold) => hold.until)) - Date.now());
    try {
      await this.options.session.script(
        'meteredHandOver',
        session,
        `${session}-held`,
        Math.ceil(leaseMs),
        ...remaining.map((hold) => hold.held.id),
      );
    } catch (error) {
      this.options.logger.warn(
        { err: error },
        'redis broker: held sessions could not be handed over',
      );
    }
  }

  /** The node leaves: its holds are handed over (or, without a session, dropped). */
  async close(): Promise<void> {
    const session = this.options.session.id;
    if (session !== undefined) await this.handOver(session);
    for (const hold of this.holds.values()) clearTimeout(hold.timer);
    this.holds.clear();
  }
}
