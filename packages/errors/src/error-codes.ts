/** Every machine-readable code a protocol v1 server puts in an `error` frame, in the seed's order. */
export const ERROR_CODES = [
  'malformed_message',
  'unknown_type',
  'invalid_channel',
  'invalid_peer_id',
  'channel_not_authorized',
  'channel_reserved',
  'channel_limit_exceeded',
  'peer_not_found',
  'missing_data',
  'action_not_permitted',
  'over_message_quota',
] as const;

/** A stable server error code. Branch with equality and keep a default arm. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** True when `value` is one of the eleven {@link ErrorCode} literals. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
