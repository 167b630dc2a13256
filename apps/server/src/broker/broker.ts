import type { JsonObject, PresenceMember, StreamPosition } from '@metered/protocol';
import type {
  HistoryPage,
  HistoryPolicy,
  IdempotencyClaim,
  Recovery,
} from '../history/history-types.js';
import type { OutboundFrame } from '../outbound.js';

/** A value now, or later from a network broker. Callers handle both without awaiting a sync one. */
export type MaybePromise<T> = T | Promise<T>;

/** True when a {@link MaybePromise} is a promise. */
export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Chains a step after a value that may or may not be a promise, staying synchronous when it can. */
export function andThen<T, R>(
  value: MaybePromise<T>,
  step: (value: T) => MaybePromise<R>,
): MaybePromise<R> {
  return isPromise(value) ? value.then(step) : step(value);
}

/**
 * The broker's view of one socket on this node. The connection code owns the socket; the broker
 * only writes frames that are already encoded (one string per fan-out, shared by every receiver)
 * and asks for closes (REST kicks, suspension).
 */
export interface BrokerConnection {
  /** Unique across nodes. */
  readonly id: string;
  readonly appId: string;
  readonly peerId: string;
  /** The token's `peerMetadata`, shown on presence, directs and opted-in messages. */
  readonly peerMetadata: JsonObject | undefined;
  /** False for connections without the `presence` permission: they receive rosters but are not listed. */
  readonly visibleInPresence: boolean;
  /**
   * Writes one encoded frame to the socket. A fan-out frame is encoded once, to bytes
   * (`fanOutFrame` in `outbound.ts`), and the same bytes are handed to every receiver.
   */
  deliver(frame: OutboundFrame): void;
  /**
   * Writes frames after every frame delivered so far, in pages within the socket's outbound
   * bound; frames delivered meanwhile wait behind them. Absent: the broker delivers them.
   */
  deliverInPages?(frames: Iterator<OutboundFrame>): void;
  /** Closes the socket with a close code. */
  close(code: number, reason: string): void;
}

export interface SubscribeOptions {
  readonly includeSenderMetadata: boolean;
  /** The channel's history (extension `recovery`); undefined when it has none. */
  readonly history?: HistoryPolicy | undefined;
  /** With `history`: the position the subscriber holds, to replay what it missed. */
  readonly since?: StreamPosition | undefined;
  /**
   * Called with the roster (every member but the subscriber's own peer id) after the subscriber
   * is recorded and before any other member hears of it: the connection writes its `ack` and
   * `presence` snapshot here, so the snapshot precedes any frame a member sends in reaction.
   * With `history`, `recovery` gives the channel's position at that moment and the replay,
   * which the connection writes next, before any later frame.
   */
  readonly beforeAnnounce: (members: readonly PresenceMember[], recovery?: Recovery) => void;
}

/**
 * A message counted against the app's quota by the broker, in the same step as its publication
 * (brokers with {@link Broker.countsQuota}).
 */
export interface QuotaClaim {
  /** The start of the quota period, Unix seconds. */
  readonly periodStart: number;
  /** Messages the app may send in the period. */
  readonly limit: number;
}

/** What `publish` and `sendDirect` resolve to when the message's {@link QuotaClaim} is exhausted. */
export const OVER_QUOTA = -2;

export interface ChannelMessage {
  readonly channel: string;
  readonly from: string;
  readonly data: unknown;
  readonly fromMetadata: JsonObject | undefined;
  /** The publishing connection, which never receives its own message. */
  readonly excludeConnectionId?: string | undefined;
  /** The channel's history (extension `recovery`): the message gets an offset and is kept. */
  readonly history?: HistoryPolicy | undefined;
  /** Extension `idempotency`: applied at most once per key of `from` within the window. */
  readonly idempotency?: IdempotencyClaim | undefined;
  /** With {@link Broker.countsQuota}: counted against the app's quota first. */
  readonly quota?: QuotaClaim | undefined;
}

export interface DirectMessage {
  readonly from: string;
  readonly to: string;
  readonly data: unknown;
  readonly fromMetadata: JsonObject | undefined;
  /** Extension `idempotency`: applied at most once per key of `from` within the window. */
  readonly idempotency?: IdempotencyClaim | undefined;
  /** With {@link Broker.countsQuota}: counted against the app's quota first. */
  readonly quota?: QuotaClaim | undefined;
}

export interface QuotaResult {
  /** False when the period's quota is exhausted (the attempt is still counted). */
  readonly allowed: boolean;
  readonly used: number;
}

/**
 * A kicked peer id's tokens kept out: those issued at or before `issuedUpTo` (Unix seconds), and
 * those without `iat`, are refused until `until` (epoch ms).
 */
export interface PeerRevocation {
  readonly issuedUpTo: number;
  readonly until: number;
}

export interface AppUsage {
  readonly concurrentNow: number;
  readonly peakConcurrent: number;
  readonly messagesUsed: number;
}

/** How a session that negotiated resume is held after its socket dropped (extension `resume`). */
export interface HoldOptions {
  /** The SHA-256 (base64url) of the resume credential that claims the session. */
  readonly credential: string;
  /**
   * Who may claim it besides the credential: `t:<sub>` for a token connection (a token with the
   * same `sub` only), `k:<hash of the key>` for a publishable key (that key only).
   */
  readonly binding: string;
  readonly windowMs: number;
  /** Directs kept for the held peer id; once full it takes no more (senders get `peer_not_found`). */
  readonly maxDirects: number;
}

/** What a connection takes over when it resumes a held session. */
export interface HeldIdentity {
  /** The held broker connection's id: the resuming connection takes it, with its memberships. */
  readonly connectionId: string;
  readonly peerId: string;
}

/** A held session, once claimed: its memberships are now the resuming connection's. */
export interface ClaimedSession {
  readonly channels: readonly string[];
  /** The directs kept while held, encoded, oldest first. */
  readonly directs: readonly OutboundFrame[];
}

/**
 * Everything that crosses sockets: channel fan-out, presence rosters, direct routing,
 * connection counts and quota counters. The in-memory broker answers synchronously; a network
 * broker (Redis) may return promises and the connection code keeps each socket's frames in order.
 */
export interface Broker {
  /**
   * True when `publish` and `sendDirect` take a message's {@link QuotaClaim} and, in one step,
   * answer `DUPLICATE` for a used idempotency key (not counted), count the message (as
   * {@link consumeMessage} does) and answer {@link OVER_QUOTA} when the quota is exhausted, and
   * only then apply it. The server then makes one broker call per publish or send instead of
   * three, and a socket's publishes and sends are answered in order without each waiting for
   * the previous one's reply: a broker that sets it applies each connection's calls in the order
   * they were made. Absent: the server checks the key and the quota first, one call each.
   */
  readonly countsQuota?: boolean;
  /** Counts a new connection against the app's concurrent cap; false when the app is at the cap. */
  acquireConnection(appId: string, maxConcurrent: number): MaybePromise<boolean>;
  /** Gives back a slot taken by {@link acquireConnection} for a connection never attached. */
  releaseConnection(appId: string): MaybePromise<void>;
  /** Makes an acquired connection reachable for directs, kicks and suspension. */
  attach(connection: BrokerConnection): MaybePromise<void>;
  /** Removes a connection everywhere (members hear `left`) and releases its slot. Idempotent. */
  detach(connection: BrokerConnection): MaybePromise<void>;
  subscribe(
    connection: BrokerConnection,
    channel: string,
    options: SubscribeOptions,
  ): MaybePromise<void>;
  unsubscribe(connection: BrokerConnection, channel: string): MaybePromise<void>;
  /**
   * Fans a message out to the channel's subscribers (and keeps it in the channel's history);
   * resolves to the number of receivers, or `DUPLICATE` when its idempotency key was used.
   */
  publish(appId: string, message: ChannelMessage): MaybePromise<number>;
  /**
   * Routes a direct to every socket of the target peer id; resolves to how many got it
   * (0 = offline, the idempotency key stays unused), or `DUPLICATE`.
   */
  sendDirect(appId: string, message: DirectMessage): MaybePromise<number>;
  /**
   * True when `from` used idempotency key `key` within its window (checked before the quota, so
   * a retry is not counted twice). Absent: only the claim at publish time detects duplicates.
   */
  seenIdempotencyKey?(appId: string, from: string, key: string): MaybePromise<boolean>;
  /** A page of a channel's history: the newest `limit` messages after `since`. Absent: none. */
  history?(
    appId: string,
    channel: string,
    policy: HistoryPolicy,
    since: StreamPosition | undefined,
    limit: number,
  ): MaybePromise<HistoryPage>;
  /** The members of a channel, as presence lists them. */
  members(appId: string, channel: string): MaybePromise<readonly PresenceMember[]>;
  /** Closes every socket of a peer id with `code`; resolves to the number of sockets. */
  closePeer(appId: string, peerId: string, code: number, reason: string): MaybePromise<number>;
  /**
   * Records that a kicked peer id's earlier tokens may not connect again until
   * `revocation.until`, visible to every node; replaces an earlier revocation of that peer id.
   */
  revokePeerTokens(
    appId: string,
    peerId: string,
    revocation: PeerRevocation,
    now: number,
  ): MaybePromise<void>;
  /** The revocation of a peer id in force at `now`, as recorded by {@link revokePeerTokens}. */
  peerRevocation(
    appId: string,
    peerId: string,
    now: number,
  ): MaybePromise<PeerRevocation | undefined>;
  /** Closes every socket of an app with `code` (suspension). */
  closeApp(appId: string, code: number, reason: string): MaybePromise<number>;
  /** Counts one publish/send against the app's quota for the period starting at `periodStart`. */
  consumeMessage(appId: string, periodStart: number, limit: number): MaybePromise<QuotaResult>;
  usage(appId: string, periodStart: number): MaybePromise<AppUsage>;
  /**
   * Extension `resume`: `credential` (replacing the connection's earlier one) claims the live
   * connection's session too: a resume that comes before the server noticed the old socket's
   * end (a dead TCP connection is found by the heartbeat only) takes the session over, and the
   * old socket is closed with 1001 without a departure.
   */
  registerResume?(
    connection: BrokerConnection,
    credential: string,
    binding: string,
  ): MaybePromise<void>;
  /**
   * Extension `resume`, instead of {@link detach}: keeps an attached connection's memberships
   * (members hear nothing) and routes its directs into a bounded buffer for `windowMs`. When the
   * hold ends unclaimed (the window passed, a kick, a suspension) the connection is detached as
   * usual and members hear `left`, exactly once. A broker without it serves no resume.
   */
  hold?(connection: BrokerConnection, options: HoldOptions): MaybePromise<void>;
  /**
   * Extension `resume`: claims the session held (or live) under `credential` for `appId` and `binding`,
   * once, from any node. On success `adopt` gets the held id (the resuming connection takes it
   * before the call returns) and the connection replaces the held one everywhere: no `joined`,
   * no `left`. Its memberships stay dormant (no channel traffic) until it subscribes again.
   * Undefined when nothing matches (unknown, used, expired, another app's or binding's): the
   * caller attaches a fresh session. The claimed session's slot is given back: the resuming
   * connection acquired its own.
   */
  resume?(
    appId: string,
    credential: string,
    binding: string,
    adopt: (held: HeldIdentity) => BrokerConnection,
  ): MaybePromise<ClaimedSession | undefined>;
  /** Releases the broker's resources. Idempotent. */
  close(): MaybePromise<void>;
  /**
   * False while a network broker cannot serve (Redis down): new connections are refused and
   * `/healthz` answers 503. Absent means always ready.
   */
  isReady?(): boolean;
}
