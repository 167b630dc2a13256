import { MeteredPeerOversizedError, MeteredPeerSendError } from '@metered/errors';
import { encodePublish, encodeSend, payloadSize, utf8ByteLength } from '@metered/protocol';

// The server measures whole frames: a payload fits when the frame that carries it does. A frame is
// its envelope (type, channel or recipient, request id) around the JSON of the data.

/** As long as the longest request id the signalling client sends (a UUID). */
const REQUEST_ID = '00000000-0000-4000-8000-000000000000';
/**
 * As long as the longest peer id (128 bytes, `PROTOCOL_LIMITS.maxPeerIdBytes`): what track metadata
 * is measured with, as any member may get it.
 */
const LONGEST_PEER_ID = 'x'.repeat(128);
/** `null` as data: 4 bytes of the frame that are not envelope. */
const NULL_BYTES = 4;

/** UTF-8 bytes of `data` as JSON; `invalid_args` for `undefined` and what JSON cannot carry. */
export function dataSize(data: unknown): number {
  if (data === undefined) {
    throw new MeteredPeerSendError({ code: 'invalid_args', message: 'data is undefined' });
  }
  try {
    return payloadSize(data);
  } catch (cause) {
    throw new MeteredPeerSendError({ code: 'invalid_args', message: 'data is not JSON', cause });
  }
}

/** Bytes of the `publish` frame that carries `dataBytes` of data to `channel`. */
export function publishFrameSize(channel: string, dataBytes: number): number {
  return utf8ByteLength(encodePublish(channel, null, REQUEST_ID)) - NULL_BYTES + dataBytes;
}

/** Bytes of the `send` frame that carries `dataBytes` of data to `peerId` (default: any peer). */
export function sendFrameSize(dataBytes: number, peerId = LONGEST_PEER_ID): number {
  return utf8ByteLength(encodeSend(peerId, null, REQUEST_ID)) - NULL_BYTES + dataBytes;
}

/** Throws {@link MeteredPeerOversizedError} for a frame of `size` bytes over `cap`. */
export function checkFrameSize(size: number, cap: number): void {
  if (size > cap) throw new MeteredPeerOversizedError({ size, cap });
}
