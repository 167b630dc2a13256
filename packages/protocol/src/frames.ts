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
}

export interface SendFrame {
  readonly type: 'send';
  readonly to: string;
  readonly data: unknown;
  readonly requestId?: string;
}

export interface PingFrame {
  readonly type: 'ping';
}

/** Every frame a client sends. */
export type ClientFrame = SubscribeFrame | UnsubscribeFrame | PublishFrame | SendFrame | PingFrame;

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
}

export interface AckFrame {
  readonly type: 'ack';
  readonly requestId: string;
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

/** Every frame a server sends. */
export type ServerFrame =
  | WelcomeFrame
  | AckFrame
  | ErrorFrame
  | MessageFrame
  | DirectFrame
  | PresenceFrame
  | GoingAwayFrame
  | PongFrame;

/** The `type` of a {@link ServerFrame}. */
export type ServerFrameType = ServerFrame['type'];
