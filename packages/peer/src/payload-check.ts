import { MeteredPeerOversizedError, MeteredPeerSendError } from '@metered/errors';
import { payloadSize } from '@metered/protocol';

/** Throws unless `data` is JSON no larger than `cap` bytes. */
export function checkPayload(data: unknown, cap: number): void {
  if (data === undefined) {
    throw new MeteredPeerSendError({ code: 'invalid_args', message: 'data is undefined' });
  }
  let size: number;
  try {
    size = payloadSize(data);
  } catch (cause) {
    throw new MeteredPeerSendError({ code: 'invalid_args', message: 'data is not JSON', cause });
  }
  if (size > cap) throw new MeteredPeerOversizedError({ size, cap });
}
