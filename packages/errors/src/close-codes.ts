/**
 * WebSocket close codes of protocol v1. Members are plain numbers, so `code === WsCloseCode.GOING_AWAY`
 * and `code === 1001` are the same test. 1006 (abnormal closure) has no member: it reaches you as a
 * raw number.
 */
export const WsCloseCode = {
  GOING_AWAY: 1001,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  CLIENT_INACTIVITY: 4000,
  INVALID_TOKEN: 4001,
  TOKEN_EXPIRED: 4002,
  CHANNEL_NOT_AUTHORIZED: 4003,
  OVER_CONCURRENT_LIMIT: 4010,
  OVER_MESSAGE_RATE: 4011,
  ACCOUNT_SUSPENDED: 4012,
  ADMIN_DISCONNECT: 4020,
} as const;

/** One of the values of {@link WsCloseCode}. */
export type WsCloseCode = (typeof WsCloseCode)[keyof typeof WsCloseCode];

/** The name of a {@link WsCloseCode} member. */
export type WsCloseCodeName = keyof typeof WsCloseCode;

/** Close codes after which a client never retries: {4001, 4003, 4012, 4020}. */
export const TERMINAL_CLOSE_CODES: readonly [4001, 4003, 4012, 4020] = [4001, 4003, 4012, 4020];

/** The least delay before the attempt that follows a 4010 close (before jitter). */
export const OVER_CONCURRENT_LIMIT_FLOOR_MS = 30_000;

/** True for the close codes after which a client must not reconnect. */
export function isTerminalCloseCode(code: number): boolean {
  return (TERMINAL_CLOSE_CODES as readonly number[]).includes(code);
}

/**
 * What a client does after a socket closes with a given code:
 * - `reconnect`: normal backoff (1001, 1006, 1008, 1009, 4000, 4011 and any code not listed);
 * - `reconnect-with-fresh-token`: normal backoff, and the token provider must mint a new token (4002);
 * - `reconnect-after-floor`: backoff floored at {@link OVER_CONCURRENT_LIMIT_FLOOR_MS} (4010);
 * - `stop`: terminal, no retry (4001, 4003, 4012, 4020).
 */
export type CloseCodeAction =
  'reconnect' | 'reconnect-with-fresh-token' | 'reconnect-after-floor' | 'stop';

/** Classifies any close code into what the client does next. */
export function closeCodeAction(code: number): CloseCodeAction {
  if (isTerminalCloseCode(code)) return 'stop';
  if (code === WsCloseCode.TOKEN_EXPIRED) return 'reconnect-with-fresh-token';
  if (code === WsCloseCode.OVER_CONCURRENT_LIMIT) return 'reconnect-after-floor';
  return 'reconnect';
}
