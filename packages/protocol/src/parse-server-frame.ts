import type { JsonObject, PresenceMember, ServerFrame, ServerFrameType } from './frames.js';
import { isPlainObject } from './is-plain-object.js';
import { MAX_SERVER_FRAME_LENGTH } from './limits.js';
import { type ServerFrameError, validateServerFrame } from './validate-server-frame.js';

export type { ServerFrameError, ServerFrameErrorReason } from './validate-server-frame.js';

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

/**
 * The fields of each server frame, copied in this order. Required fields (checked by
 * `validateServerFrame`) are copied as they are, presence members (`:m`) as `{peerId, metadata?}`;
 * optional fields are dropped when of the wrong type: `:S` a string, `:o` an object, `:p` a
 * finite number ≥ 0, `:b` a boolean. The extensions' fields are optional fields.
 */
const FIELDS: Record<ServerFrameType, string> = {
  message: 'channel from data fromMetadata:o offset:p epoch:S',
  direct: 'from data fromMetadata:o',
  ack: 'requestId position:o recovered:b resumeToken:S windowMs:p expiresAt:p duplicate:b',
  presence: 'channel joined:m left:m',
  error: 'code requestId:S message:S',
  welcome: 'peerId expiresAt serverTime maxMessageSize metadata:o extensions:o',
  going_away: 'retryAfterMs:p',
  pong: '',
  unsubscribed: 'channel code',
};

/** Presence members, normalised to `{peerId, metadata?}` (metadata only when an object). */
const members = (list: readonly Fields[]): PresenceMember[] =>
  list.map(({ peerId, metadata }) =>
    isPlainObject(metadata)
      ? { peerId: peerId as string, metadata: metadata as JsonObject }
      : { peerId: peerId as string },
  );

/** The field's value in the normalised frame, `undefined` to leave it out. */
function field(value: unknown, kind: string | undefined): unknown {
  switch (kind) {
    case undefined:
      return value;
    case 'm':
      return members(value as Fields[]);
    case 'S':
      return typeof value === 'string' ? value : undefined;
    case 'p':
      return Number.isFinite(value) && (value as number) >= 0 ? value : undefined;
    case 'b':
      return typeof value === 'boolean' ? value : undefined;
    default:
      return isPlainObject(value) ? value : undefined;
  }
}

const fail = (error: ServerFrameError): ParseServerFrameResult => ({ ok: false, error });

/**
 * Strictly parses one text frame a server sent: `validateServerFrame` on the parsed JSON (unknown
 * types, missing or mistyped required fields and `error` codes outside the eleven `ErrorCode`
 * literals are rejected), then a normalised copy: optional fields of the wrong type dropped,
 * extra keys ignored.
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
  const error = validateServerFrame(value);
  if (error) return fail(error);
  const fields = value as Fields;
  const type = fields.type as ServerFrameType;
  const frame: Fields = { type };
  for (const spec of FIELDS[type] ? FIELDS[type].split(' ') : []) {
    const [name, kind] = spec.split(':') as [string, string | undefined];
    const copied = field(fields[name], kind);
    if (copied !== undefined) frame[name] = copied;
  }
  return { ok: true, frame: frame as unknown as ServerFrame };
}
