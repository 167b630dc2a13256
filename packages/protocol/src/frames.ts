import type { ErrorCode } from '@metered/errors';

/** Any JSON value a payload can carry. */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object, as used for metadata bags. */
export type JsonObject = { [key: string]: JsonValue };

// ---- client → server ----

export interface SubscribeFrame {
  readonly type: 'subscribe';
  readonly channel: string;
  readonly requestId?: string;
  /** Present (as `true`) only when the subscriber wants sender metadata on messages. */
  readonly includeSenderMetadata?: true;
  /**
   * Extension `recovery`: replay what the channel published after this position (see
   * `docs/protocol.md`, "Extensions"). Sent only to a server that advertised `recovery`.
   */
  readonly since?: StreamPosition;
}

/**
 * A place in a channel's stream: the `offset` of a message (strictly increasing per channel,
 * starting at 1; 0 = before the first) in the stream incarnation named by `epoch`. An offset
 * means nothing under another epoch: the epoch changes whenever history was lost.
 */
export interface StreamPosition {
  readonly offset: number;
  readonly epoch: string;
}

export interface UnsubscribeFrame {
  readonly type: 'unsubscribe';
  readonly channel: string;
  readonly requestId?: string;
}

export interface PublishFrame {
  readonly type: 'publish';
  readonly channel: string;
  readonly data: unknown;
  readonly requestId?: string;
  /** Extension `idempotency`: a publish repeated with the same key is applied once. */
  readonly idempotencyKey?: string;
}

export interface SendFrame {
  readonly type: 'send';
  readonly to: string;
  readonly data: unknown;
  readonly requestId?: string;
  /** Extension `idempotency`: a send repeated with the same key is applied once. */
  readonly idempotencyKey?: string;
}

/**
 * Extension `resume`: asks the server to hold this session through an abnormal disconnect.
 * Answered by an `ack` carrying `resumeToken` and `windowMs`.
 */
export interface SessionFrame {
  readonly type: 'session';
  readonly requestId?: string;
}

/** Extension `refresh`: a fresh token for the open connection, answered by `ack` with `expiresAt`. */
export interface RefreshFrame {
  readonly type: 'refresh';
  readonly token: string;
  readonly requestId?: string;
}

export interface PingFrame {
  readonly type: 'ping';
}

/** Every frame a client sends. */
export type ClientFrame =
  | SubscribeFrame
  | UnsubscribeFrame
  | PublishFrame
  | SendFrame
  | PingFrame
  | SessionFrame
  | RefreshFrame;

/** The `type` of a {@link ClientFrame}. */
export type ClientFrameType = ClientFrame['type'];

// ---- server → client ----

/** One TURN/STUN server, as the browser's `RTCIceServer`. */
export interface IceServerConfig {
  readonly urls: string | readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

export interface WelcomeFrame {
  readonly type: 'welcome';
  readonly peerId: string;
  /** Token expiry in Unix seconds; `null` for publishable-key connections. */
  readonly expiresAt: number | null;
  /** Server clock, epoch milliseconds. */
  readonly serverTime: number;
  readonly maxMessageSize: number;
  /** The token's private `metadata` claim, if any. */
  readonly metadata?: JsonObject;
  /** The protocol extensions this server supports (absent: none). */
  readonly extensions?: WelcomeExtensions;
}

/**
 * The extensions a server advertises in `welcome`; a key is present only when the extension is
 * on. A client uses an extension only when its key is here. See `docs/protocol.md`, "Extensions".
 */
export interface WelcomeExtensions {
  /** Channel history: `message` frames carry `offset`/`epoch`, `subscribe` takes `since`. */
  readonly recovery?: JsonObject;
  /**
   * Session resume: a client that sent `session` and drops abnormally may reconnect within
   * `windowMs` with `resume=<token>` in the URL and get its session back (`resumed: true`).
   */
  readonly resume?: { readonly windowMs: number; readonly resumed?: true };
  /** In-band token refresh: the `refresh` frame. */
  readonly refresh?: JsonObject;
  /** `idempotencyKey` on `publish` and `send`, remembered for `windowMs`. */
  readonly idempotency?: { readonly windowMs: number };
}

export interface AckFrame {
  readonly type: 'ack';
  readonly requestId: string;
  /** Extension `recovery`, on a `subscribe`: the channel's position when subscribed. */
  readonly position?: StreamPosition;
  /** Extension `recovery`, on a `subscribe` with `since`: true when nothing can be missing. */
  readonly recovered?: boolean;
  /** Extension `resume`, on a `session`: the single-use credential for the next connect. */
  readonly resumeToken?: string;
  /** Extension `resume`, on a `session`: how long the session is held after a drop. */
  readonly windowMs?: number;
  /** Extension `refresh`, on a `refresh`: the new expiry, Unix seconds. */
  readonly expiresAt?: number;
  /** Extension `idempotency`: the key was seen before; nothing was applied again. */
  readonly duplicate?: true;
}

export interface ErrorFrame {
  readonly type: 'error';
  readonly code: ErrorCode;
  readonly requestId?: string;
  readonly message?: string;
}

export interface MessageFrame {
  readonly type: 'message';
  readonly channel: string;
  readonly from: string;
  readonly data: unknown;
  readonly fromMetadata?: JsonObject;
  /** Extension `recovery`: the message's place in the channel's stream. */
  readonly offset?: number;
  readonly epoch?: string;
}

export interface DirectFrame {
  readonly type: 'direct';
  readonly from: string;
  readonly data: unknown;
  readonly fromMetadata?: JsonObject;
}

/** A member of a channel as presence reports it. */
export interface PresenceMember {
  readonly peerId: string;
  readonly metadata?: JsonObject;
}

export interface PresenceFrame {
  readonly type: 'presence';
  readonly channel: string;
  readonly joined: readonly PresenceMember[];
  readonly left: readonly PresenceMember[];
}

export interface GoingAwayFrame {
  readonly type: 'going_away';
  readonly retryAfterMs?: number;
}

export interface PongFrame {
  readonly type: 'pong';
}

/**
 * Extension `refresh`: the server ended a subscription that the connection's refreshed token no
 * longer allows (`code` `channel_not_authorized`). Sent only to clients that sent `refresh`.
 */
export interface UnsubscribedFrame {
  readonly type: 'unsubscribed';
  readonly channel: string;
  readonly code: ErrorCode;
}

/** Every frame a server sends. */
export type ServerFrame =
  | WelcomeFrame
  | AckFrame
  | ErrorFrame
  | MessageFrame
  | DirectFrame
  | PresenceFrame
  | GoingAwayFrame
  | PongFrame
  | UnsubscribedFrame;

/** The `type` of a {@link ServerFrame}. */
export type ServerFrameType = ServerFrame['type'];
