import { type ErrorCode, ServerRequestError } from '@metered/errors';
import { isValidChannelName, isValidPeerId } from '@metered/protocol';

// The checks of a request's arguments. A bad argument is refused before anything is sent, with
// the `ServerRequestError` the server would have answered (`requestId` null: no request was made).

function refuse(code: ErrorCode, cause?: unknown): never {
  throw new ServerRequestError({ code, requestId: null, cause });
}

/** A channel name of 1–256 UTF-8 bytes without control characters (reserved names are the server's call). */
export function checkChannel(channel: string): void {
  if (!isValidChannelName(channel)) refuse('invalid_channel');
}

/** A peer id of 1–128 printable ASCII characters. */
export function checkPeerId(peerId: string): void {
  if (!isValidPeerId(peerId)) refuse('invalid_peer_id');
}

/**
 * `data` for publish and send: any JSON value (`null` included). `undefined`, a function and a
 * symbol are what `JSON.stringify` leaves out: the server would see no data.
 */
export function checkData(data: unknown): void {
  const type = typeof data;
  if (type === 'undefined' || type === 'function' || type === 'symbol') {
    refuse('missing_data');
  }
}

/** Wraps a frame builder: data that JSON cannot write (a BigInt, a cycle) is refused as missing. */
export function withData(encode: (requestId: string) => string): (requestId: string) => string {
  return (requestId) => {
    try {
      return encode(requestId);
    } catch (cause) {
      return refuse('missing_data', cause);
    }
  };
}
