import { isErrorCode } from '@metered/errors';
import type { JsonObject, PresenceMember, ServerFrame, ServerFrameType } from './frames.js';
import { PROTOCOL_LIMITS } from './limits.js';

/** Why a server frame was rejected. */
export type ServerFrameErrorReason =
  'too_large' | 'invalid_json' | 'not_object' | 'unknown_type' | 'invalid_field';

/** What was wrong with a rejected server frame. */
export interface ServerFrameError {
  readonly reason: ServerFrameErrorReason;
  /** The frame's `type`, when it had a string one. */
  readonly type?: string;
  /** The offending field, for `invalid_field`. */
  readonly field?: string;
}

/** The result of {@link parseServerFrame}: never throws. */
export type ParseServerFrameResult =
  | { readonly ok: true; readonly frame: ServerFrame }
  | { readonly ok: false; readonly error: ServerFrameError };

/** Options of {@link parseServerFrame}. */
export interface ParseServerFrameOptions {
  /** Longest accepted text in UTF-16 code units (default 1 MiB). */
  readonly maxLength?: number;
}

type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function invalid(type: string, field: string): ParseServerFrameResult {
  return { ok: false, error: { reason: 'invalid_field', type, field } };
}

function members(value: unknown): PresenceMember[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const result: PresenceMember[] = [];
  for (const entry of value as unknown[]) {
    if (!isObject(entry) || typeof entry.peerId !== 'string') return undefined;
    result.push(
      isObject(entry.metadata)
        ? { peerId: entry.peerId, metadata: entry.metadata as JsonObject }
        : { peerId: entry.peerId },
    );
  }
  return result;
}

/**
 * Strictly parses one text frame a server sent. Unknown types, missing or mistyped required
 * fields and `error` codes outside the eleven `ErrorCode` literals are rejected; optional fields
 * of the wrong type are dropped; extra keys are ignored.
 */
export function parseServerFrame(
  text: string,
  options: ParseServerFrameOptions = {},
): ParseServerFrameResult {
  if (text.length > (options.maxLength ?? PROTOCOL_LIMITS.maxServerFrameLength)) {
    return { ok: false, error: { reason: 'too_large' } };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: { reason: 'invalid_json' } };
  }
  if (!isObject(value)) return { ok: false, error: { reason: 'not_object' } };
  const type = value.type;
  if (typeof type !== 'string')
    return { ok: false, error: { reason: 'invalid_field', field: 'type' } };

  switch (type as ServerFrameType) {
    case 'message': {
      if (typeof value.channel !== 'string') return invalid(type, 'channel');
      if (typeof value.from !== 'string') return invalid(type, 'from');
      if (!('data' in value)) return invalid(type, 'data');
      return {
        ok: true,
        frame: isObject(value.fromMetadata)
          ? {
              type: 'message',
              channel: value.channel,
              from: value.from,
              data: value.data,
              fromMetadata: value.fromMetadata as JsonObject,
            }
          : { type: 'message', channel: value.channel, from: value.from, data: value.data },
      };
    }
    case 'direct': {
      if (typeof value.from !== 'string') return invalid(type, 'from');
      if (!('data' in value)) return invalid(type, 'data');
      return {
        ok: true,
        frame: isObject(value.fromMetadata)
          ? {
              type: 'direct',
              from: value.from,
              data: value.data,
              fromMetadata: value.fromMetadata as JsonObject,
            }
          : { type: 'direct', from: value.from, data: value.data },
      };
    }
    case 'ack':
      if (typeof value.requestId !== 'string') return invalid(type, 'requestId');
      return { ok: true, frame: { type: 'ack', requestId: value.requestId } };
    case 'error': {
      if (!isErrorCode(value.code)) return invalid(type, 'code');
      const frame: {
        type: 'error';
        code: typeof value.code;
        requestId?: string;
        message?: string;
      } = { type: 'error', code: value.code };
      if (typeof value.requestId === 'string') frame.requestId = value.requestId;
      if (typeof value.message === 'string') frame.message = value.message;
      return { ok: true, frame };
    }
    case 'presence': {
      if (typeof value.channel !== 'string') return invalid(type, 'channel');
      const joined = members(value.joined);
      if (!joined) return invalid(type, 'joined');
      const left = members(value.left);
      if (!left) return invalid(type, 'left');
      return { ok: true, frame: { type: 'presence', channel: value.channel, joined, left } };
    }
    case 'welcome': {
      if (typeof value.peerId !== 'string') return invalid(type, 'peerId');
      if (
        !('expiresAt' in value) ||
        (value.expiresAt !== null && !isFiniteNumber(value.expiresAt))
      ) {
        return invalid(type, 'expiresAt');
      }
      if (!isFiniteNumber(value.serverTime)) return invalid(type, 'serverTime');
      if (!isFiniteNumber(value.maxMessageSize) || value.maxMessageSize <= 0) {
        return invalid(type, 'maxMessageSize');
      }
      const base = {
        type: 'welcome' as const,
        peerId: value.peerId,
        expiresAt: value.expiresAt,
        serverTime: value.serverTime,
        maxMessageSize: value.maxMessageSize,
      };
      return {
        ok: true,
        frame: isObject(value.metadata)
          ? { ...base, metadata: value.metadata as JsonObject }
          : base,
      };
    }
    case 'going_away':
      return {
        ok: true,
        frame:
          isFiniteNumber(value.retryAfterMs) && value.retryAfterMs >= 0
            ? { type: 'going_away', retryAfterMs: value.retryAfterMs }
            : { type: 'going_away' },
      };
    case 'pong':
      return { ok: true, frame: { type: 'pong' } };
    default:
      return { ok: false, error: { reason: 'unknown_type', type } };
  }
}
