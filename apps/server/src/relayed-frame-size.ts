import { MAX_SERVER_FRAME_LENGTH, utf8ByteLength } from '@metered/protocol';

/**
 * Most a client frame's text can grow when its parsed `data` is encoded again for the receivers:
 * whitespace and escapes only shrink, but a number grows up to 21/4 (`1e20` is written
 * `100000000000000000000`).
 */
const MAX_REENCODE_GROWTH = 6;

/** Room for the envelope the relayed frame adds (`type`, `from`, key names). */
const ENVELOPE_BYTES = 256;

/**
 * True when the frame a publish or send relays (a `message` or `direct`, with the sender's
 * metadata when a receiver asked for it) stays within the 1 MiB every protocol v1 client accepts;
 * a client closes with 1009 above it and would reconnect into the same frame. A frame that cannot
 * grow that far is not encoded twice.
 *
 * @param inboundBytes UTF-8 length of the client frame that carries `data`.
 * @param addedBytes UTF-8 length of what the relayed frame adds that the client frame lacks
 *   (sender id and metadata).
 * @param encode the largest relayed frame.
 */
export function relayedFrameFits(
  inboundBytes: number,
  addedBytes: number,
  encode: () => string,
): boolean {
  if (inboundBytes * MAX_REENCODE_GROWTH + addedBytes + ENVELOPE_BYTES <= MAX_SERVER_FRAME_LENGTH)
    return true;
  return utf8ByteLength(encode()) <= MAX_SERVER_FRAME_LENGTH;
}
