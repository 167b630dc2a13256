import type { ErrorCode } from '@metered/errors';
import type { IceServerConfig, JsonObject } from '@metered/protocol';

/** The states of a {@link SignallingClient}: `idle → connecting → connected ⇄ reconnecting → closed`. */
export type SignallingState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** A member of a channel as a {@link Presence} event reports it. */
export interface PresencePeer {
  readonly peerId: string;
  /** The member's `peerMetadata`, or `null` when it has none. */
  readonly metadata: JsonObject | null;
}

/** The fields an event class is built from: its public properties. */
export type EventFields<T> = { readonly [K in keyof T]: T[K] };

/** Base of every event class: an immutable copy of the fields it was built with. */
export abstract class SignallingEvent {
  /** Makes event classes nominal: `client.on()` accepts nothing else. */
  declare private readonly signallingEvent: never;

  constructor(fields: object) {
    Object.assign(this, fields);
    Object.freeze(this);
  }
}

/** The server's welcome arrived: the client is connected. */
export class Connected extends SignallingEvent {
  declare readonly peerId: string;
  /** The server's clock, epoch milliseconds. */
  declare readonly serverTime: number;
  /** Token expiry in Unix seconds; `null` for publishable-key connections. */
  declare readonly expiresAt: number | null;
  /** `true` for the welcome of an automatic reconnect. */
  declare readonly isReconnect: boolean;
  /** The largest frame the server accepts, in bytes. */
  declare readonly maxMessageSize: number;
  /** TURN/STUN servers from the token's `metadata.iceServers`; `null` when absent or invalid. */
  declare readonly iceServers: readonly IceServerConfig[] | null;
  /**
   * Extension `resume`, present only when the server offers it: `true` when the server gave the
   * session that dropped back (same `peerId`, its channels kept, no `left`/`joined` seen by the
   * other members), `false` for a fresh session.
   */
  declare readonly resumed?: boolean;
  constructor(fields: EventFields<Connected>) {
    super(fields);
  }
}

/** The connection ended. `willReconnect: false` is the last event before `closed`. */
export class Disconnected extends SignallingEvent {
  declare readonly code: number;
  declare readonly reason: string;
  declare readonly willReconnect: boolean;
  constructor(fields: EventFields<Disconnected>) {
    super(fields);
  }
}

/** The client moved from one state to another. */
export class StateChange extends SignallingEvent {
  declare readonly from: SignallingState;
  declare readonly to: SignallingState;
  constructor(fields: EventFields<StateChange>) {
    super(fields);
  }
}

/** A message published on a subscribed channel by another peer. */
export class Message extends SignallingEvent {
  declare readonly channel: string;
  declare readonly senderPeerId: string;
  declare readonly data: unknown;
  /** The sender's metadata, when the channel was subscribed with `includeSenderMetadata`. */
  declare readonly senderMetadata: JsonObject | null;
  /**
   * Extension `recovery`, present only on a channel with history: the message's place in the
   * channel's stream (strictly increasing) and the stream's epoch.
   */
  declare readonly offset?: number;
  /** Extension `recovery`: the incarnation of the channel's stream `offset` belongs to. */
  declare readonly epoch?: string;
  constructor(fields: EventFields<Message>) {
    super(fields);
  }
}

/**
 * The client subscribed again to a channel after a reconnect (one event per channel, when the
 * server acked). `recovered: true` only for a channel subscribed with `recover` or `since`, on a
 * server with the `recovery` extension, whose every missed message the server replays next:
 * nothing can be missing. `false` means messages may have been missed: resynchronise the
 * channel's state from your own backend.
 */
export class Resubscribed extends SignallingEvent {
  declare readonly channel: string;
  declare readonly recovered: boolean;
  constructor(fields: EventFields<Resubscribed>) {
    super(fields);
  }
}

/**
 * The server ended a subscription on its own (extension `refresh`: the refreshed token no longer
 * allows the channel, `code` `channel_not_authorized`). The channel is no longer subscribed and
 * is not subscribed again after a reconnect.
 */
export class SubscriptionEnded extends SignallingEvent {
  declare readonly channel: string;
  declare readonly code: ErrorCode;
  constructor(fields: EventFields<SubscriptionEnded>) {
    super(fields);
  }
}

/** A message sent directly to this peer. */
export class Direct extends SignallingEvent {
  declare readonly senderPeerId: string;
  declare readonly data: unknown;
  declare readonly senderMetadata: JsonObject | null;
  constructor(fields: EventFields<Direct>) {
    super(fields);
  }
}

/** Members joined or left a channel; after a subscribe, the full roster in `joined`. */
export class Presence extends SignallingEvent {
  declare readonly channel: string;
  declare readonly joined: readonly PresencePeer[];
  declare readonly left: readonly PresencePeer[];
  constructor(fields: EventFields<Presence>) {
    super(fields);
  }
}

/** An `error` frame the server sent that no pending request claims. */
export class ServerError extends SignallingEvent {
  declare readonly code: ErrorCode;
  declare readonly message: string | null;
  declare readonly requestId: string | null;
  constructor(fields: EventFields<ServerError>) {
    super(fields);
  }
}

/** The server is shutting down; a 1001 close follows and the client reconnects on its backoff. */
export class GoingAway extends SignallingEvent {
  /** The server's hint, in ms; 1000 when it sent none, or 0 or less. */
  declare readonly retryAfterMs: number;
  constructor(fields: EventFields<GoingAway>) {
    super(fields);
  }
}

/**
 * The token provider failed (threw, timed out or returned no token). On a connection attempt, at
 * the third failure in a row the provider counts as stuck: the client ends `closed` with a final
 * `Disconnected` (1006, `token provider stuck`) and a pending `connect()` rejects with a
 * `SignallingConnectError` whose `cause` is `err`. On an in-band refresh (extension `refresh`)
 * the connection stays open: the fetch is retried, and once the retries are spent the server
 * closes at expiry (4002) and the client reconnects; `consecutiveFailures` counts that refresh's
 * attempts.
 */
export class TokenProviderError extends SignallingEvent {
  declare readonly consecutiveFailures: number;
  declare readonly err: unknown;
  constructor(fields: EventFields<TokenProviderError>) {
    super(fields);
  }
}
