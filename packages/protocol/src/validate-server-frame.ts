import { isErrorCode } from '@metered/errors';
import type { ServerFrameType } from './frames.js';

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

type Fields = Record<string, unknown>;

const isString = (value: unknown): value is string => typeof value === 'string';
const isFiniteNumber = Number.isFinite as (value: unknown) => value is number;
/** Presence members: an array of objects with a string `peerId`. */
const isMemberList = (value: unknown): boolean =>
  Array.isArray(value) && value.every((member) => isString((member as Fields | null)?.peerId));
/**
 * The required fields of each server frame type, in wire order: each check returns the first
 * field that is missing or of the wrong kind, `''` when none. Optional fields (`fromMetadata`,
 * `metadata`, an error's `requestId` and `message`, `retryAfterMs`) are not checked here: a reader
 * checks them where it reads them, and `parseServerFrame` drops them when of the wrong type.
 */
const REQUIRED: Record<ServerFrameType, (frame: Fields) => string> = {
  message: (frame) =>
    !isString(frame.channel)
      ? 'channel'
      : !isString(frame.from)
        ? 'from'
        : 'data' in frame
          ? ''
          : 'data',
  direct: (frame) => (!isString(frame.from) ? 'from' : 'data' in frame ? '' : 'data'),
  ack: (frame) => (isString(frame.requestId) ? '' : 'requestId'),
  presence: (frame) =>
    !isString(frame.channel)
      ? 'channel'
      : !isMemberList(frame.joined)
        ? 'joined'
        : isMemberList(frame.left)
          ? ''
          : 'left',
  error: (frame) => (isErrorCode(frame.code) ? '' : 'code'),
  welcome: (frame) =>
    !isString(frame.peerId)
      ? 'peerId'
      : !(frame.expiresAt === null || isFiniteNumber(frame.expiresAt))
        ? 'expiresAt'
        : !isFiniteNumber(frame.serverTime)
          ? 'serverTime'
          : isFiniteNumber(frame.maxMessageSize) && frame.maxMessageSize > 0
            ? ''
            : 'maxMessageSize',
  going_away: () => '',
  pong: () => '',
  unsubscribed: (frame) =>
    !isString(frame.channel) ? 'channel' : isErrorCode(frame.code) ? '' : 'code',
};

/**
 * Checks, in place and without copying, what `JSON.parse` made of a server frame: an object with
 * a known `type` and every required field of that type (unknown types, `error` codes outside the
 * `ErrorCode` literals, missing or mistyped required fields are rejected). Returns `null` for a
 * valid frame, whose optional fields are still unchecked. The one frame check of the protocol:
 * {@link parseServerFrame} runs it before normalising, a client on its hot path instead of it.
 */
export function validateServerFrame(value: unknown): ServerFrameError | null {
  // Inline rather than `isPlainObject`: this runs for every frame a client receives.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { reason: 'not_object' };
  }
  const { type } = value as Fields;
  if (!isString(type)) return { reason: 'invalid_field', field: 'type' };
  if (!Object.hasOwn(REQUIRED, type)) return { reason: 'unknown_type', type };
  const field = REQUIRED[type as ServerFrameType](value as Fields);
  return field ? { reason: 'invalid_field', type, field } : null;
}
