import type { ErrorCode } from '@metered/errors';
import type {
  AckFrame,
  JsonObject,
  PresenceMember,
  PublishFrame,
  SendFrame,
  StreamPosition,
  WelcomeExtensions,
} from './frames.js';

// Builders emit the exact key order of protocol v1, one `JSON.stringify` per frame. A server that
// fans a message out builds its frame once and sends the same string to every socket. An optional
// field is written as its value: `JSON.stringify` leaves out a key whose value is `undefined`.

// ---- client → server ----

/** `since` (extension `recovery`) only for a server that advertised it. */
export function encodeSubscribe(
  channel: string,
  requestId: string,
  includeSenderMetadata = false,
  since?: StreamPosition,
): string {
  // `JSON.stringify` leaves out a key whose value is `undefined`.
  return JSON.stringify({
    type: 'subscribe',
    channel,
    requestId,
    includeSenderMetadata: includeSenderMetadata || undefined,
    since,
  });
}

export function encodeUnsubscribe(channel: string, requestId: string): string {
  return JSON.stringify({ type: 'unsubscribe', channel, requestId });
}

/**
 * A frame with `data`: `TypeError` when it is `undefined` or not JSON-serialisable. Keys whose
 * value is `undefined` are left out.
 */
function encodeWithData(
  frame: { readonly [K in keyof (PublishFrame | SendFrame)]: unknown } & Record<string, unknown>,
): string {
  if (frame.data === undefined) throw new TypeError('data must not be undefined');
  return JSON.stringify(frame);
}

/**
 * Throws `TypeError` when `data` is `undefined` or not JSON-serialisable. `idempotencyKey`
 * (extension `idempotency`) only for a server that advertised it.
 */
export function encodePublish(
  channel: string,
  data: unknown,
  requestId: string,
  idempotencyKey?: string,
): string {
  return encodeWithData({ type: 'publish', channel, data, requestId, idempotencyKey });
}

/**
 * Throws `TypeError` when `data` is `undefined` or not JSON-serialisable. `idempotencyKey`
 * (extension `idempotency`) only for a server that advertised it.
 */
export function encodeSend(
  to: string,
  data: unknown,
  requestId: string,
  idempotencyKey?: string,
): string {
  return encodeWithData({ type: 'send', to, data, requestId, idempotencyKey });
}

export const PING_FRAME = '{"type":"ping"}';

/** Extension `resume`: asks the server to hold the session through an abnormal drop. */
export function encodeSession(requestId: string): string {
  return JSON.stringify({ type: 'session', requestId });
}

/** Extension `refresh`: hands the open connection a fresh token. */
export function encodeRefresh(token: string, requestId: string): string {
  return JSON.stringify({ type: 'refresh', token, requestId });
}

// ---- server → client ----

export interface WelcomeFields {
  readonly peerId: string;
  readonly expiresAt: number | null;
  readonly serverTime: number;
  readonly maxMessageSize: number;
  readonly metadata?: JsonObject | undefined;
  /** Left out of the frame when `undefined` (a server with every extension off). */
  readonly extensions?: WelcomeExtensions | undefined;
}

export function encodeWelcome(fields: WelcomeFields): string {
  const { peerId, expiresAt, serverTime, maxMessageSize, metadata, extensions } = fields;
  return JSON.stringify({
    type: 'welcome',
    peerId,
    expiresAt,
    serverTime,
    maxMessageSize,
    metadata,
    extensions,
  });
}

/** The extensions' fields an `ack` may carry, after `requestId` in this order. */
export type AckExtras = Omit<AckFrame, 'type' | 'requestId'>;

export function encodeAck(requestId: string, extras?: AckExtras): string {
  return JSON.stringify({ type: 'ack', requestId, ...extras });
}

export function encodeError(code: ErrorCode, message?: string, requestId?: string): string {
  return JSON.stringify({ type: 'error', requestId, code, message });
}

/** `position` (extension `recovery`) for a channel with history: `offset` and `epoch` last. */
export function encodeMessage(
  channel: string,
  from: string,
  data: unknown,
  fromMetadata?: JsonObject,
  position?: StreamPosition,
): string {
  return JSON.stringify({
    type: 'message',
    channel,
    from,
    data,
    fromMetadata,
    offset: position?.offset,
    epoch: position?.epoch,
  });
}

export function encodeDirect(from: string, data: unknown, fromMetadata?: JsonObject): string {
  return JSON.stringify({ type: 'direct', from, data, fromMetadata });
}

export function encodePresence(
  channel: string,
  joined: readonly PresenceMember[],
  left: readonly PresenceMember[],
): string {
  return JSON.stringify({ type: 'presence', channel, joined, left });
}

export function encodeGoingAway(retryAfterMs: number): string {
  return JSON.stringify({ type: 'going_away', retryAfterMs });
}

export const PONG_FRAME = '{"type":"pong"}';

/** Extension `refresh`: a subscription the connection's refreshed token no longer allows. */
export function encodeUnsubscribed(channel: string, code: ErrorCode): string {
  return JSON.stringify({ type: 'unsubscribed', channel, code });
}
