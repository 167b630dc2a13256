import { isErrorCode } from '@metered/errors';
import type { JsonObject, PresenceMember, ServerFrame, ServerFrameType } from './frames.js';
import { MAX_SERVER_FRAME_LENGTH } from './limits.js';

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

/**
 * The shape of each server frame, one `field:kind` per field. Required kinds: `s` string,
 * `n` finite number, `P` finite number > 0, `N` finite number or null (key required), `a` any
 * value (key required), `c` an `ErrorCode`, `m` presence members. Optional kinds, dropped when of
 * the wrong type: `S` string, `o` object, `p` finite number ≥ 0.
 */
const SHAPES: Record<ServerFrameType, string> = {
  message: 'channel:s from:s data:a fromMetadata:o',
  direct: 'from:s data:a fromMetadata:o',
  ack: 'requestId:s',
  presence: 'channel:s joined:m left:m',
  error: 'code:c requestId:S message:S',
  welcome: 'peerId:s expiresAt:N serverTime:n maxMessageSize:P metadata:o',
  going_away: 'retryAfterMs:p',
  pong: '',
};

/** Presence members, normalised to `{peerId, metadata?}`; `undefined` when any entry is invalid. */
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

/** The field's value when it has the kind, else `undefined` (`null` is kept for `N` and `a`). */
function field(fields: Fields, name: string, kind: string): unknown {
  const value = fields[name];
  switch (kind) {
    case 's':
    case 'S':
      return typeof value === 'string' ? value : undefined;
    case 'n':
      return isFiniteNumber(value) ? value : undefined;
    case 'P':
      return isFiniteNumber(value) && value > 0 ? value : undefined;
    case 'p':
      return isFiniteNumber(value) && value >= 0 ? value : undefined;
    case 'N':
      return value === null || isFiniteNumber(value) ? value : undefined;
    case 'a':
      return value;
    case 'c':
      return isErrorCode(value) ? value : undefined;
    case 'm':
      return members(value);
    default:
      return isObject(value) ? value : undefined;
  }
}

const fail = (error: ServerFrameError): ParseServerFrameResult => ({ ok: false, error });

/**
 * Strictly parses one text frame a server sent. Unknown types, missing or mistyped required
 * fields and `error` codes outside the eleven `ErrorCode` literals are rejected; optional fields
 * of the wrong type are dropped; extra keys are ignored.
 */
export function parseServerFrame(
  text: string,
  options: ParseServerFrameOptions = {},
): ParseServerFrameResult {
  if (text.length > (options.maxLength ?? MAX_SERVER_FRAME_LENGTH))
    return fail({ reason: 'too_large' });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail({ reason: 'invalid_json' });
  }
  if (!isObject(value)) return fail({ reason: 'not_object' });
  const type = value.type;
  if (typeof type !== 'string') return fail({ reason: 'invalid_field', field: 'type' });
  const shape = Object.hasOwn(SHAPES, type) ? SHAPES[type as ServerFrameType] : undefined;
  if (shape === undefined) return fail({ reason: 'unknown_type', type });
  const frame: Fields = { type };
  for (const spec of shape ? shape.split(' ') : []) {
    const [name, kind] = spec.split(':') as [string, string];
    const parsed = field(value, name, kind);
    if (parsed !== undefined) frame[name] = parsed;
    else if (!'Sop'.includes(kind)) return fail({ reason: 'invalid_field', type, field: name });
  }
  return { ok: true, frame: frame as unknown as ServerFrame };
}
