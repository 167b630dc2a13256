import type { ErrorCode } from '@metered/errors';
import type { ClientFrame, ClientFrameType, StreamPosition } from './frames.js';
import { isPlainObject } from './is-plain-object.js';
import { MAX_EPOCH_LENGTH, MAX_TOKEN_LENGTH } from './limits.js';
import { isValidPeerId, isValidRequestId, validateChannelName } from './validation.js';

/**
 * How a server answers a rejected client frame: close the socket (`1008`, for text that is not a
 * JSON object), or send an `error` frame with the code, correlated when the frame had a usable
 * `requestId`.
 */
export type ClientFrameRejection =
  | { readonly action: 'close'; readonly closeCode: 1008; readonly reason: string }
  | {
      readonly action: 'error';
      readonly code: ErrorCode;
      readonly message: string;
      readonly requestId?: string;
    };

/** The result of {@link parseClientFrame}: never throws. */
export type ParseClientFrameResult =
  | { readonly ok: true; readonly frame: ClientFrame }
  | { readonly ok: false; readonly rejection: ClientFrameRejection };

type Fields = Record<string, unknown>;

/** A `since` position: `{offset, epoch}` with a safe integer offset ≥ 0 and a 1–64 char epoch. */
function isStreamPosition(value: unknown): value is StreamPosition {
  if (!isPlainObject(value)) return false;
  const { offset, epoch } = value;
  return (
    Number.isSafeInteger(offset) &&
    (offset as number) >= 0 &&
    typeof epoch === 'string' &&
    epoch.length > 0 &&
    epoch.length <= MAX_EPOCH_LENGTH
  );
}

function reject(code: ErrorCode, message: string, requestId?: string): ParseClientFrameResult {
  return { ok: false, rejection: { action: 'error', code, message, ...tagged(requestId) } };
}

/** `{requestId}` to spread into a frame or a rejection, nothing when there is none. */
const tagged = (requestId: string | undefined): { requestId?: string } =>
  requestId === undefined ? {} : { requestId };

/** A rejection that closes the socket. */
const close = (reason: string): ParseClientFrameResult => ({
  ok: false,
  rejection: { action: 'close', closeCode: 1008, reason },
});

/**
 * Strictly parses one text frame a client sent. Checks, in order: JSON object (else close 1008),
 * string `type` and a valid optional `requestId` (`malformed_message`), a known type
 * (`unknown_type`), then the type's fields: channel names (`invalid_channel`,
 * `channel_reserved`), the `to` peer id (`invalid_peer_id`), presence of `data`
 * (`missing_data`), and any other missing or mistyped field (`malformed_message`).
 */
export function parseClientFrame(text: string): ParseClientFrameResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return close('invalid JSON');
  }
  if (!isPlainObject(value)) return close('frame is not a JSON object');
  const fields = value as Fields;
  const hasRequestId = fields.requestId !== undefined;
  if (hasRequestId && !isValidRequestId(fields.requestId)) {
    return reject('malformed_message', 'requestId must be a string of 1-128 characters');
  }
  const requestId = fields.requestId as string | undefined;
  const id = tagged(requestId);
  if (typeof fields.type !== 'string') {
    return reject('malformed_message', 'type must be a string', requestId);
  }
  const type = fields.type as ClientFrameType;
  const key = fields.idempotencyKey;
  if (key !== undefined && (type === 'publish' || type === 'send') && !isValidRequestId(key)) {
    return reject(
      'malformed_message',
      'idempotencyKey must be a string of 1-128 characters',
      requestId,
    );
  }
  const idempotency = key === undefined ? undefined : { idempotencyKey: key as string };
  switch (type) {
    case 'ping':
      return { ok: true, frame: { type: 'ping' } };
    case 'session':
      return { ok: true, frame: { type, ...id } };
    case 'refresh': {
      const { token } = fields;
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        return reject('malformed_message', 'token must be a non-empty string', requestId);
      }
      return { ok: true, frame: { type, token, ...id } };
    }
    case 'subscribe':
    case 'unsubscribe':
    case 'publish': {
      if (!('channel' in fields))
        return reject('malformed_message', 'channel is required', requestId);
      const channelError = validateChannelName(fields.channel);
      if (channelError)
        return reject(channelError, `channel ${channelError.replace('channel_', '')}`, requestId);
      const channel = fields.channel as string;
      const base = { channel, ...id };
      if (type === 'publish') {
        if (!('data' in fields)) return reject('missing_data', 'data is required', requestId);
        return { ok: true, frame: { type, ...base, data: fields.data, ...idempotency } };
      }
      if (type === 'unsubscribe') return { ok: true, frame: { type, ...base } };
      const include = fields.includeSenderMetadata;
      if (include !== undefined && typeof include !== 'boolean') {
        return reject('malformed_message', 'includeSenderMetadata must be a boolean', requestId);
      }
      const { since } = fields;
      if (since !== undefined && !isStreamPosition(since)) {
        return reject(
          'malformed_message',
          'since must be {offset, epoch}: an integer offset >= 0 and an epoch of 1-64 characters',
          requestId,
        );
      }
      return {
        ok: true,
        frame: {
          type,
          ...base,
          ...(include === true && { includeSenderMetadata: true as const }),
          ...(since !== undefined && { since: { offset: since.offset, epoch: since.epoch } }),
        },
      };
    }
    case 'send': {
      if (!('to' in fields)) return reject('malformed_message', 'to is required', requestId);
      if (!isValidPeerId(fields.to))
        return reject('invalid_peer_id', 'to is not a valid peer id', requestId);
      if (!('data' in fields)) return reject('missing_data', 'data is required', requestId);
      const to = fields.to;
      return { ok: true, frame: { type, to, data: fields.data, ...id, ...idempotency } };
    }
    default:
      return reject(
        'unknown_type',
        `unknown frame type ${JSON.stringify(fields.type).slice(0, 64)}`,
        requestId,
      );
  }
}
