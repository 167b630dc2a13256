import type { ErrorCode } from '@metered/errors';
import type { JsonObject, PresenceMember, PublishFrame, SendFrame } from './frames.js';

// Builders emit the exact key order of protocol v1, one `JSON.stringify` per frame. A server that
// fans a message out builds its frame once and sends the same string to every socket.

// ---- client → server ----

export function encodeSubscribe(
  channel: string,
  requestId: string,
  includeSenderMetadata = false,
): string {
  // `JSON.stringify` leaves out a key whose value is `undefined`.
  return JSON.stringify({
    type: 'subscribe',
    channel,
    requestId,
    includeSenderMetadata: includeSenderMetadata || undefined,
  });
}

export function encodeUnsubscribe(channel: string, requestId: string): string {
  return JSON.stringify({ type: 'unsubscribe', channel, requestId });
}

/** A frame with `data`: `TypeError` when it is `undefined` or not JSON-serialisable. */
function encodeWithData(frame: PublishFrame | SendFrame): string {
  if (frame.data === undefined) throw new TypeError('data must not be undefined');
  return JSON.stringify(frame);
}

/** Throws `TypeError` when `data` is `undefined` or not JSON-serialisable. */
export function encodePublish(channel: string, data: unknown, requestId: string): string {
  return encodeWithData({ type: 'publish', channel, data, requestId });
}

/** Throws `TypeError` when `data` is `undefined` or not JSON-serialisable. */
export function encodeSend(to: string, data: unknown, requestId: string): string {
  return encodeWithData({ type: 'send', to, data, requestId });
}

export const PING_FRAME = '{"type":"ping"}';

// ---- server → client ----

export interface WelcomeFields {
  readonly peerId: string;
  readonly expiresAt: number | null;
  readonly serverTime: number;
  readonly maxMessageSize: number;
  readonly metadata?: JsonObject | undefined;
}

export function encodeWelcome(fields: WelcomeFields): string {
  const { peerId, expiresAt, serverTime, maxMessageSize, metadata } = fields;
  return JSON.stringify(
    metadata === undefined
      ? { type: 'welcome', peerId, expiresAt, serverTime, maxMessageSize }
      : { type: 'welcome', peerId, expiresAt, serverTime, maxMessageSize, metadata },
  );
}

export function encodeAck(requestId: string): string {
  return JSON.stringify({ type: 'ack', requestId });
}

export function encodeError(code: ErrorCode, message?: string, requestId?: string): string {
  return JSON.stringify({
    type: 'error',
    ...(requestId !== undefined && { requestId }),
    code,
    ...(message !== undefined && { message }),
  });
}

export function encodeMessage(
  channel: string,
  from: string,
  data: unknown,
  fromMetadata?: JsonObject,
): string {
  return JSON.stringify(
    fromMetadata === undefined
      ? { type: 'message', channel, from, data }
      : { type: 'message', channel, from, data, fromMetadata },
  );
}

export function encodeDirect(from: string, data: unknown, fromMetadata?: JsonObject): string {
  return JSON.stringify(
    fromMetadata === undefined
      ? { type: 'direct', from, data }
      : { type: 'direct', from, data, fromMetadata },
  );
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
