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

const CLOSE_TEXT: ReadonlyArray<readonly [number, string, string, string]> = [
  [
    1001,
    'The server is shutting down for a deploy.',
    'Reconnects on the normal backoff.',
    'Nothing. The GoingAway event before it carries a retryAfterMs hint.',
  ],
  [
    1006,
    'Abnormal closure: the network dropped, or the handshake was refused.',
    'Reconnects.',
    'Show a "reconnecting" state.',
  ],
  [
    1008,
    'Policy violation: a binary frame or a frame that is not a JSON object.',
    'Reconnects.',
    'Check wire-format compliance: this is a client bug.',
  ],
  [
    1009,
    'A frame exceeded the server cap.',
    'Reconnects.',
    'On the peer layer, catch MeteredPeerOversizedError before sending; chunk large payloads.',
  ],
  [
    4000,
    "The client's own inactivity watchdog fired (no frame within inactivityTimeoutMs). Never sent by a server.",
    'Reconnects.',
    'Nothing: the client is healing a stuck socket.',
  ],
  [
    4001,
    'The token is invalid: wrong signature, malformed, or unknown key.',
    'Stops: terminal, no retry.',
    'Refresh the user\u2019s auth and mint a new token.',
  ],
  [
    4002,
    "The token's exp claim has passed.",
    'Reconnects, calling the token provider for a fresh token first.',
    'Make sure the token provider returns a fresh token.',
  ],
  [
    4003,
    "No channel is authorised by the token's channels claim.",
    'Stops: terminal, no retry.',
    'Fix the channel list when minting the token.',
  ],
  [
    4010,
    "The app is at its plan's concurrent-connection cap.",
    'Reconnects with a 30 s floor under the next delay.',
    'Raise the limit, or look for leaked connections; fast retries only hammer the server.',
  ],
  [
    4011,
    'The per-connection message rate limit was hit.',
    'Reconnects with a fresh bucket.',
    'Throttle the producer.',
  ],
  [
    4012,
    'The account is suspended.',
    'Stops: terminal, no retry.',
    'Direct the user to billing or support.',
  ],
  [
    4020,
    'Disconnected through the REST API.',
    'Stops: terminal, no retry.',
    'Show "you were disconnected" and a way to sign in again.',
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

const ERROR_TEXT: Record<ErrorCode, readonly [string, string]> = {
  malformed_message: [
    'A frame without a string type, or with a missing or mistyped field.',
    'A client bug: report it.',
  ],
  unknown_type: ['A frame type the server does not know.', 'A client bug: report it.'],
  invalid_channel: [
    'A channel name that breaks the wire rules (1\u2013256 UTF-8 bytes, no control characters).',
    'Validate channel names before subscribing.',
  ],
  invalid_peer_id: [
    'A peer id that breaks the wire rules (1\u2013128 printable ASCII characters), or a send to yourself.',
    'Validate peer ids when minting tokens.',
  ],
  channel_not_authorized: [
    "A channel outside the token's or key's channel patterns.",
    'Mint a token that includes the channel.',
  ],
  channel_reserved: [
    'A channel starting with _metered/, _internal/ or _system/.',
    'Pick another prefix.',
  ],
  channel_limit_exceeded: [
    'A subscribe past the per-connection channel cap.',
    'Unsubscribe from idle channels or open a second client.',
  ],
  peer_not_found: [
    'A send to a peer that is not online in this app.',
    'Usually a race with the peer leaving: drop the send.',
  ],
  missing_data: [
    'A publish or send without data.',
    'A client bug: data is required (null is allowed).',
  ],
  action_not_permitted: [
    "An action outside the token's or key's permissions.",
    'Mint a token with that permission.',
  ],
  over_message_quota: [
    "The app's message quota for the period is spent; the connection stays open.",
    'Wait for the period to roll over, or raise the plan.',
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
