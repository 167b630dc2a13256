import { isValidChannelName, isValidPeerId } from '@metered/protocol';
import { invalid } from './invalid.js';

// The checks of the arguments of a request, before anything is sent.

/** A channel name of 1–256 UTF-8 bytes without control characters (reserved names are the server's call). */
export function checkChannel(channel: string): void {
  if (!isValidChannelName(channel)) invalid('channel name');
}

/** A peer id of 1–128 printable ASCII characters. */
export function checkPeerId(peerId: string): void {
  if (!isValidPeerId(peerId)) invalid('peer id');
}

/** `data` for publish and send: any JSON value, never `undefined`. */
export function checkData(data: unknown): void {
  if (data === undefined) invalid('data: undefined');
}
