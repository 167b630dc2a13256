// What each close code and error code means, what the SDK does about it and what the
// application should do: the reference behind the documentation and any UI that explains a
// disconnect. A separate entry point (`@metered/errors/reference`), so the main entry stays small.
import {
  WsCloseCode,
  closeCodeAction,
  type CloseCodeAction,
  type WsCloseCodeName,
} from './close-codes.js';
import { ERROR_CODES, type ErrorCode } from './error-codes.js';

/** The reference entry of one WebSocket close code. */
export interface CloseCodeInfo {
  readonly code: number;
  /** The {@link WsCloseCode} member, or `null` for 1006, which has none. */
  readonly member: WsCloseCodeName | null;
  readonly meaning: string;
  readonly action: CloseCodeAction;
  /** What the SDK does, in words. */
  readonly sdkDoes: string;
  /** What the application should do. */
  readonly youShould: string;
}

/** The reference entry of one server error code. */
export interface ErrorCodeInfo {
  readonly code: ErrorCode;
  readonly triggeredBy: string;
  readonly fix: string;
}

// The seed's table, in TypeScript's idiom (our option and field names).
const CLOSE_TEXT: ReadonlyArray<readonly [number, string, string, string]> = [
  [
    1001,
    'Server shutting down for deploy.',
    'Reconnects on normal backoff.',
    'Nothing required. The preceding GoingAway event carries a retryAfterMs hint if you want to delay manually.',
  ],
  [
    1006,
    'Abnormal close \u2014 network died, or the handshake was rejected.',
    'Reconnects.',
    'Show "reconnecting" UI.',
  ],
  [
    1008,
    'Sent a binary frame, or invalid JSON shape.',
    'Reconnects.',
    'Check your wire-format compliance \u2014 this is a client bug.',
  ],
  [
    1009,
    'Payload exceeded the server cap.',
    'Reconnects.',
    'On the MeteredPeer layer, catch MeteredPeerOversizedError before send.',
  ],
  [
    4000,
    "The SDK's own inactivity watchdog fired (no frames within inactivityTimeoutMs).",
    'Reconnects.',
    'Nothing \u2014 this is the SDK self-healing on a stuck WS. The server never emits it.',
  ],
  [
    4001,
    'JWT signature wrong, malformed, or wrong key.',
    'Terminal \u2014 no retry.',
    "Refresh the user's auth, mint a new token.",
  ],
  [
    4002,
    "JWT's exp claim is in the past.",
    'Reconnects (tokenProvider refresh).',
    'Make sure tokenProvider() returns a fresh JWT.',
  ],
  [
    4003,
    "Channel outside the JWT's channels claim.",
    'Terminal \u2014 no retry.',
    'Fix your channel list at JWT-minting time.',
  ],
  [
    4010,
    "At your plan's concurrent-connection cap.",
    'Reconnects, but with a \u226530 s backoff floor.',
    'Raise your plan limit, or wait \u2014 retrying every 500 ms just hammers the server.',
  ],
  [
    4011,
    'Per-connection rate limit hit.',
    'Reconnects (fresh bucket).',
    'Throttle your producer; this is per-second abuse defense, not a billing cap.',
  ],
  [
    4012,
    'Account-level kill switch.',
    'Terminal \u2014 no retry.',
    'Direct the user to billing / contact support.',
  ],
  [
    4020,
    'Disconnected via the REST API.',
    'Terminal \u2014 no retry.',
    'Show "you were disconnected" + login button.',
  ],
];

const MEMBERS = Object.fromEntries(
  Object.entries(WsCloseCode).map(([name, code]) => [code, name as WsCloseCodeName]),
) as Record<number, WsCloseCodeName>;

/** Every close code of protocol v1, in order. */
export const CLOSE_CODE_REFERENCE: readonly CloseCodeInfo[] = CLOSE_TEXT.map(
  ([code, meaning, sdkDoes, youShould]) =>
    Object.freeze({
      code,
      member: MEMBERS[code] ?? null,
      meaning,
      action: closeCodeAction(code),
      sdkDoes,
      youShould,
    }),
);

// The seed's table, in TypeScript's idiom; its "Same" for unknown_type spelled out.
const ERROR_TEXT: Record<ErrorCode, readonly [string, string]> = {
  malformed_message: [
    'Invalid JSON, missing required field.',
    'Client bug \u2014 file an SDK issue if you hit this.',
  ],
  unknown_type: [
    'Unrecognized message type.',
    'Client bug \u2014 file an SDK issue if you hit this.',
  ],
  invalid_channel: [
    'Channel name violates the wire-format rules (length, charset).',
    'Validate channel names client-side before subscribe.',
  ],
  invalid_peer_id: ['peerId violates wire-format rules.', 'Validate peer ids at JWT-mint time.'],
  channel_not_authorized: [
    "Channel outside JWT's channels claim.",
    'Mint a JWT that includes the channel.',
  ],
  channel_reserved: [
    'Channel starts with _metered/, _internal/, _system/.',
    'Pick a different prefix.',
  ],
  channel_limit_exceeded: [
    'Subscribing past the per-connection channel cap.',
    'Open a second SignallingClient or unsubscribe from inactive channels.',
  ],
  peer_not_found: [
    "send target isn't online on this app.",
    'Race condition (peer left between your decision and your send) \u2014 typically just drop the send.',
  ],
  missing_data: ['publish / send without data.', 'Client bug \u2014 data is required.'],
  action_not_permitted: [
    "Key's permissions don't grant this action.",
    'Mint a JWT with the action in its permissions.',
  ],
  over_message_quota: [
    'Period message quota exhausted; connection stays open.',
    'Direct user to billing, or wait until the period rolls over.',
  ],
};

/** Every server error code, in the order of `ERROR_CODES`. */
export const ERROR_CODE_REFERENCE: readonly ErrorCodeInfo[] = ERROR_CODES.map((code) =>
  Object.freeze({ code, triggeredBy: ERROR_TEXT[code][0], fix: ERROR_TEXT[code][1] }),
);

/**
 * The reference entry for any close code; codes outside the table get a generic entry with the
 * action the client takes (`reconnect` for all of them).
 */
export function describeCloseCode(code: number): CloseCodeInfo {
  return (
    CLOSE_CODE_REFERENCE.find((info) => info.code === code) ?? {
      code,
      member: null,
      meaning: code === 1000 ? 'Normal closure.' : 'A close code outside protocol v1.',
      action: closeCodeAction(code),
      sdkDoes: 'Reconnects.',
      youShould: 'Nothing specific.',
    }
  );
}

/** The reference entry of an error code. */
export function describeErrorCode(code: ErrorCode): ErrorCodeInfo {
  return ERROR_CODE_REFERENCE.find((info) => info.code === code) as ErrorCodeInfo;
}
