import type { ErrorCode } from '@metered/errors';
import {
  MAX_CHANNEL_NAME_BYTES,
  MAX_PEER_ID_BYTES,
  MAX_REQUEST_ID_LENGTH,
  RESERVED_CHANNEL_PREFIXES,
} from './limits.js';

/** UTF-8 byte length of a string, without allocating (a lone surrogate counts 3 bytes). */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        index++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** True for a channel name that starts with `_metered/`, `_internal/` or `_system/` (any case). */
export function isReservedChannel(channel: string): boolean {
  const lower = channel.slice(0, 10).toLowerCase();
  return RESERVED_CHANNEL_PREFIXES.some((prefix) => lower.startsWith(prefix));
}

/**
 * True for a channel name of 1–256 UTF-8 bytes without control characters: the syntax of the wire
 * rules, what a client can check before sending (reserved prefixes are the server's call).
 */
export function isValidChannelName(channel: unknown): channel is string {
  return (
    typeof channel === 'string' &&
    channel.length > 0 &&
    // At most 85 UTF-16 code units are at most 255 UTF-8 bytes: only longer names are counted
    // (a lone surrogate becomes U+FFFD, 3 bytes, as `utf8ByteLength` counts it).
    (channel.length <= MAX_CHANNEL_NAME_BYTES / 3 ||
      (channel.length <= MAX_CHANNEL_NAME_BYTES &&
        new TextEncoder().encode(channel).length <= MAX_CHANNEL_NAME_BYTES)) &&
    !CONTROL_CHARACTERS.test(channel)
  );
}

/**
 * Checks a channel name against the wire rules: a string of 1–256 UTF-8 bytes without control
 * characters (`invalid_channel`), outside the reserved prefixes (`channel_reserved`).
 * Returns `null` when the name is acceptable.
 */
export function validateChannelName(
  channel: unknown,
): 'invalid_channel' | 'channel_reserved' | null {
  if (!isValidChannelName(channel)) return 'invalid_channel';
  return isReservedChannel(channel) ? 'channel_reserved' : null;
}

/** True for a peer id of 1–128 printable ASCII characters (U+0020–U+007E). */
export function isValidPeerId(peerId: unknown): peerId is string {
  return (
    typeof peerId === 'string' &&
    peerId.length > 0 &&
    peerId.length <= MAX_PEER_ID_BYTES &&
    /^[\x20-\x7e]+$/.test(peerId)
  );
}

/** True for a request id: a non-empty string of at most 128 characters. */
export function isValidRequestId(requestId: unknown): requestId is string {
  return (
    typeof requestId === 'string' &&
    requestId.length > 0 &&
    requestId.length <= MAX_REQUEST_ID_LENGTH
  );
}

/**
 * The size the protocol counts for a payload: UTF-8 bytes of `JSON.stringify(data)`, the data
 * value alone. Throws `TypeError` for `undefined` and for values JSON cannot serialise.
 */
export function payloadSize(data: unknown): number {
  if (data === undefined) throw new TypeError('data must not be undefined');
  const text = JSON.stringify(data) as string | undefined;
  if (text === undefined) throw new TypeError('data is not JSON-serialisable');
  return utf8ByteLength(text);
}

/** The error code a server answers for a channel name, or `null` — re-exported for servers. */
export type ChannelValidationCode = Extract<ErrorCode, 'invalid_channel' | 'channel_reserved'>;
