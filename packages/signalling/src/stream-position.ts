import type { StreamPosition } from '@metered/protocol';

/**
 * The `{offset, epoch}` position (extension `recovery`) of a `message` frame or of an ack's
 * `position`: a number and a string, else `undefined` (these optional fields are not checked
 * before).
 */
export function toPosition(
  from: { readonly offset?: unknown; readonly epoch?: unknown } | undefined,
): StreamPosition | undefined {
  const { offset, epoch } = from ?? {};
  return typeof offset === 'number' && typeof epoch === 'string' ? { offset, epoch } : undefined;
}
