// The stable contract: class names, hierarchy, attribute names, code literals and close-code
// values. A removal or rename fails here; additions must be added on purpose.
import { describe, expect, it } from 'vitest';
import * as errors from './index.js';

const CLASS_CONTRACT = {
  MeteredRealtimeError: { parent: 'Error', attributes: [] },
  SignallingError: { parent: 'MeteredRealtimeError', attributes: [] },
  SignallingConnectError: { parent: 'SignallingError', attributes: ['closeCode', 'closeReason'] },
  ServerRequestError: { parent: 'SignallingError', attributes: ['code', 'requestId'] },
  AckTimeoutError: { parent: 'SignallingError', attributes: ['requestId', 'timeout'] },
  DisconnectedError: { parent: 'SignallingError', attributes: [] },
  MeteredPeerSendError: { parent: 'MeteredRealtimeError', attributes: ['code'] },
  MeteredPeerOversizedError: { parent: 'MeteredRealtimeError', attributes: ['size', 'cap'] },
  MeteredPeerStateError: {
    parent: 'MeteredRealtimeError',
    attributes: ['code', 'method', 'currentState'],
  },
  MeteredPeerReplaceTrackError: {
    parent: 'MeteredRealtimeError',
    attributes: ['succeeded', 'failed'],
  },
  DataChannelOverflowError: { parent: 'MeteredRealtimeError', attributes: ['queued', 'cap'] },
} as const;

const SAMPLE_OPTIONS: Record<keyof typeof CLASS_CONTRACT, Record<string, unknown>> = {
  MeteredRealtimeError: {},
  SignallingError: {},
  SignallingConnectError: { closeCode: 4001, closeReason: 'bad token' },
  ServerRequestError: { code: 'channel_reserved', requestId: 'r1' },
  AckTimeoutError: { requestId: 'r2', timeout: 15000 },
  DisconnectedError: {},
  MeteredPeerSendError: { code: 'not_joined' },
  MeteredPeerOversizedError: { size: 70000, cap: 65536 },
  MeteredPeerStateError: { code: 'invalid_state', method: 'add_track', currentState: 'closed' },
  MeteredPeerReplaceTrackError: {
    succeeded: ['a'],
    failed: [{ peerId: 'b', err: new Error('x') }],
  },
  DataChannelOverflowError: { queued: 256, cap: 256 },
};

describe('stable surface', () => {
  it('exports exactly the documented runtime names', () => {
    expect(Object.keys(errors).sort()).toEqual(
      [
        ...Object.keys(CLASS_CONTRACT),
        'WsCloseCode',
        'TERMINAL_CLOSE_CODES',
        'OVER_CONCURRENT_LIMIT_FLOOR_MS',
        'isTerminalCloseCode',
        'closeCodeAction',
        'ERROR_CODES',
        'isErrorCode',
        'redactSecrets',
      ].sort(),
    );
  });

  it.each(Object.entries(CLASS_CONTRACT))(
    '%s keeps its name, parent and attributes',
    (name, contract) => {
      const Class = errors[name as keyof typeof CLASS_CONTRACT];
      const error = new Class(SAMPLE_OPTIONS[name as keyof typeof CLASS_CONTRACT] as never);
      expect(error.name).toBe(name);
      expect(Object.getPrototypeOf(Class.prototype).constructor.name).toBe(contract.parent);
      expect(Object.keys(error).sort()).toEqual([...contract.attributes].sort());
      expect(error).toBeInstanceOf(Error);
      expect(error).toBeInstanceOf(errors.MeteredRealtimeError);
    },
  );

  it('keeps every WsCloseCode member and value; 1006 has no member', () => {
    expect(errors.WsCloseCode).toEqual({
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
    });
    expect(Object.values(errors.WsCloseCode)).not.toContain(1006);
  });

  it('keeps the eleven ErrorCode literals in order', () => {
    expect(errors.ERROR_CODES).toEqual([
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
    ]);
  });

  it('keeps the terminal set', () => {
    expect([...errors.TERMINAL_CLOSE_CODES].sort()).toEqual([4001, 4003, 4012, 4020]);
  });
});
