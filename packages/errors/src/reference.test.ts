import { describe, expect, it } from 'vitest';
import { WsCloseCode, closeCodeAction } from './close-codes.js';
import { ERROR_CODES, type ErrorCode } from './error-codes.js';
import {
  CLOSE_CODE_REFERENCE,
  ERROR_CODE_REFERENCE,
  describeCloseCode,
  describeErrorCode,
} from './reference.js';

// The seed's tables ("WebSocket close codes" and "Server-emitted error codes" of the vendor's
// "Errors & Codes" page), cell for cell. The reference says the same in TypeScript's idiom: the
// seed's Python names become ours, each cell ends as a sentence, and the seed's "Same" (the fix
// of `unknown_type`) is spelled out.
const SEED_CLOSE_CODES: ReadonlyArray<readonly [number, string, string, string]> = [
  [
    1001,
    'Server shutting down for deploy',
    'Reconnects on normal backoff',
    'Nothing required. The preceding GoingAway event carries a retry_after_ms hint if you want to delay manually.',
  ],
  [
    1006,
    'Abnormal close — network died, or the handshake was rejected',
    'Reconnects',
    'Show "reconnecting" UI',
  ],
  [
    1008,
    'Sent a binary frame, or invalid JSON shape',
    'Reconnects',
    'Check your wire-format compliance — this is a client bug',
  ],
  [
    1009,
    'Payload exceeded the server cap',
    'Reconnects',
    'On the MeteredPeer layer, catch MeteredPeerOversizedError before send',
  ],
  [
    4000,
    "The SDK's own inactivity watchdog fired (no frames within inactivity_timeout)",
    'Reconnects',
    'Nothing — this is the SDK self-healing on a stuck WS. The server never emits it.',
  ],
  [
    4001,
    'JWT signature wrong, malformed, or wrong key',
    'Terminal — no retry',
    "Refresh the user's auth, mint a new token",
  ],
  [
    4002,
    "JWT's exp claim is in the past",
    'Reconnects (token_provider refresh)',
    'Make sure token_provider() returns a fresh JWT',
  ],
  [
    4003,
    "Channel outside the JWT's channels claim",
    'Terminal — no retry',
    'Fix your channel list at JWT-minting time',
  ],
  [
    4010,
    "At your plan's concurrent-connection cap",
    'Reconnects, but with a ≥30 s backoff floor',
    'Raise your plan limit, or wait — retrying every 500 ms just hammers the server',
  ],
  [
    4011,
    'Per-connection rate limit hit',
    'Reconnects (fresh bucket)',
    'Throttle your producer; this is per-second abuse defense, not a billing cap',
  ],
  [
    4012,
    'Account-level kill switch',
    'Terminal — no retry',
    'Direct the user to billing / contact support',
  ],
  [
    4020,
    'Disconnected via the REST API',
    'Terminal — no retry',
    'Show "you were disconnected" + login button',
  ],
];

const SEED_ERROR_CODES: ReadonlyArray<readonly [string, string, string]> = [
  [
    'malformed_message',
    'Invalid JSON, missing required field',
    'Client bug — file an SDK issue if you hit this',
  ],
  ['unknown_type', 'Unrecognized message type', 'Same'],
  [
    'invalid_channel',
    'Channel name violates the wire-format rules (length, charset)',
    'Validate channel names client-side before subscribe',
  ],
  ['invalid_peer_id', 'peer_id violates wire-format rules', 'Validate peer ids at JWT-mint time'],
  [
    'channel_not_authorized',
    "Channel outside JWT's channels claim",
    'Mint a JWT that includes the channel',
  ],
  [
    'channel_reserved',
    'Channel starts with _metered/, _internal/, _system/',
    'Pick a different prefix',
  ],
  [
    'channel_limit_exceeded',
    'Subscribing past the per-connection channel cap',
    'Open a second SignallingClient or unsubscribe from inactive channels',
  ],
  [
    'peer_not_found',
    "send target isn't online on this app",
    'Race condition (peer left between your decision and your send) — typically just drop the send',
  ],
  ['missing_data', 'publish / send without data', 'Client bug — data is required'],
  [
    'action_not_permitted',
    "Key's permissions don't grant this action",
    'Mint a JWT with the action in its permissions',
  ],
  [
    'over_message_quota',
    'Period message quota exhausted; connection stays open',
    'Direct user to billing, or wait until the period rolls over',
  ],
];

/** The seed's Python names, as this SDK spells them. */
const TYPESCRIPT_NAMES: ReadonlyArray<readonly [string, string]> = [
  ['retry_after_ms', 'retryAfterMs'],
  ['inactivity_timeout', 'inactivityTimeoutMs'],
  ['token_provider', 'tokenProvider'],
  ['peer_id', 'peerId'],
];

/** A seed cell in TypeScript's idiom: our names, and a full stop at the end. */
function inOurIdiom(cell: string): string {
  let text = cell;
  for (const [python, typescript] of TYPESCRIPT_NAMES) text = text.replaceAll(python, typescript);
  return text.endsWith('.') ? text : `${text}.`;
}

describe('close-code reference', () => {
  it('covers every WsCloseCode member and 1006, in order', () => {
    expect(CLOSE_CODE_REFERENCE.map((info) => info.code)).toEqual(
      [...Object.values(WsCloseCode), 1006].sort((a, b) => a - b),
    );
  });

  it('agrees with closeCodeAction and the member names', () => {
    for (const info of CLOSE_CODE_REFERENCE) {
      expect(info.action).toBe(closeCodeAction(info.code));
      if (info.member === null) expect(info.code).toBe(1006);
      else expect(WsCloseCode[info.member]).toBe(info.code);
      expect(info.meaning.length * info.sdkDoes.length * info.youShould.length).toBeGreaterThan(0);
    }
  });

  it("says what the seed's table says, cell for cell", () => {
    expect(CLOSE_CODE_REFERENCE.map((info) => info.code)).toEqual(
      SEED_CLOSE_CODES.map(([code]) => code),
    );
    for (const [code, meaning, sdkDoes, youShould] of SEED_CLOSE_CODES) {
      expect(describeCloseCode(code)).toMatchObject({
        meaning: inOurIdiom(meaning),
        sdkDoes: inOurIdiom(sdkDoes),
        youShould: inOurIdiom(youShould),
      });
    }
  });

  it('describes unknown codes generically', () => {
    expect(describeCloseCode(4020).member).toBe('ADMIN_DISCONNECT');
    expect(describeCloseCode(4999)).toMatchObject({
      code: 4999,
      member: null,
      action: 'reconnect',
    });
  });
});

describe('error-code reference', () => {
  it('covers the eleven codes in order', () => {
    expect(ERROR_CODE_REFERENCE.map((info) => info.code)).toEqual([...ERROR_CODES]);
    expect(describeErrorCode('over_message_quota').triggeredBy).toMatch(/stays open/);
  });

  it("says what the seed's table says, cell for cell", () => {
    expect(ERROR_CODE_REFERENCE.map((info) => info.code)).toEqual(
      SEED_ERROR_CODES.map(([code]) => code),
    );
    let previousFix = '';
    for (const [code, triggeredBy, fix] of SEED_ERROR_CODES) {
      const ourFix = fix === 'Same' ? previousFix : inOurIdiom(fix);
      expect(describeErrorCode(code as ErrorCode)).toEqual({
        code,
        triggeredBy: inOurIdiom(triggeredBy),
        fix: ourFix,
      });
      previousFix = ourFix;
    }
  });
});
