import type { StreamPosition } from '@metered/protocol';

/**
 * A `{offset, epoch}` position (extension `recovery`) read from a frame's optional fields: a
 * number and a string, else `undefined` (the frame's fields are not checked before).
 */
export const toPosition = (offset: unknown, epoch: unknown): StreamPosition | undefined =>
  typeof offset === 'number' && typeof epoch === 'string' ? { offset, epoch } : undefined;
