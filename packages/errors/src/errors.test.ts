import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  AckTimeoutError,
  DataChannelOverflowError,
  DisconnectedError,
  MeteredPeerReplaceTrackError,
  MeteredPeerSendError,
  MeteredPeerStateError,
  MeteredRealtimeError,
  ServerRequestError,
  SignallingConnectError,
  SignallingError,
  isErrorCode,
  redactSecrets,
  type ErrorCode,
} from './index.js';

describe('error classes', () => {
  it('follow the seed hierarchy', () => {
    const connect = new SignallingConnectError({ closeCode: 4001, closeReason: 'invalid token' });
    expect(connect).toBeInstanceOf(SignallingConnectError);
    expect(connect).toBeInstanceOf(SignallingError);
    expect(connect).toBeInstanceOf(MeteredRealtimeError);
    expect(connect).not.toBeInstanceOf(ServerRequestError);
    expect(new DisconnectedError()).not.toBeInstanceOf(SignallingConnectError);
    expect(new MeteredPeerSendError({ code: 'self_send' })).not.toBeInstanceOf(SignallingError);
    expect(new Error('plain')).not.toBeInstanceOf(MeteredRealtimeError);
    expect(null).not.toBeInstanceOf(MeteredRealtimeError);
  });

  it('keeps the attributes it was given', () => {
    const error = new ServerRequestError({ code: 'channel_reserved', requestId: 'r-1' });
    expect(error.code).toBe('channel_reserved');
    expect(error.requestId).toBe('r-1');
    const timeout = new AckTimeoutError({ requestId: 'r-2', timeout: 15_000 });
    expect([timeout.requestId, timeout.timeout]).toEqual(['r-2', 15_000]);
    const state = new MeteredPeerStateError({
      code: 'invalid_state',
      method: 'join',
      currentState: 'closed',
    });
    expect([state.code, state.method, state.currentState]).toEqual([
      'invalid_state',
      'join',
      'closed',
    ]);
    const overflow = new DataChannelOverflowError({ queued: 256, cap: 256 });
    expect([overflow.queued, overflow.cap]).toEqual([256, 256]);
  });

  it('never puts the server-controlled close reason in the message', () => {
    const error = new SignallingConnectError({ closeCode: 4001, closeReason: '<script>' });
    expect(error.message).not.toContain('<script>');
    expect(error.message).toContain('4001');
  });

  it('freezes the replaceTrack result lists', () => {
    const cause = new Error('boom');
    const error = new MeteredPeerReplaceTrackError({
      succeeded: ['a'],
      failed: [{ peerId: 'b', err: cause }],
    });
    expect(Object.isFrozen(error.succeeded)).toBe(true);
    expect(Object.isFrozen(error.failed)).toBe(true);
    expect(error.failed[0]).toEqual({ peerId: 'b', err: cause });
  });

  it('carries a cause', () => {
    const cause = new Error('socket');
    expect(new DisconnectedError({ cause }).cause).toBe(cause);
  });

  it('scrubs secrets from message and toJSON', () => {
    const error = new SignallingConnectError({
      closeCode: 4001,
      closeReason: 'rejected wss://x/v1?token=eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl',
      message: 'failed wss://host/v1?key=pk_live_secret&x=1',
    });
    expect(error.message).toBe('failed wss://host/v1?key=[redacted]&x=1');
    const json = JSON.stringify(error);
    expect(json).not.toContain('pk_live_secret');
    expect(json).not.toContain('c2lnbmF0dXJl');
    expect(JSON.parse(json)).toMatchObject({ name: 'SignallingConnectError', closeCode: 4001 });
  });

  it('lets user subclasses use ordinary instanceof', () => {
    class AppError extends SignallingError {}
    expect(new AppError()).toBeInstanceOf(AppError);
    expect(new AppError()).toBeInstanceOf(SignallingError);
    expect(new SignallingError()).not.toBeInstanceOf(AppError);
  });

  it('narrows name and code types', () => {
    const error = new ServerRequestError({ code: 'peer_not_found', requestId: null });
    expectTypeOf(error.name).toEqualTypeOf<'ServerRequestError'>();
    expectTypeOf(error.code).toEqualTypeOf<ErrorCode>();
    expectTypeOf(new MeteredPeerSendError({ code: 'not_joined' }).code).toEqualTypeOf<
      'reserved_channel' | 'not_joined' | 'invalid_args' | 'self_send'
    >();
  });
});

describe('isErrorCode', () => {
  it('accepts the literals and nothing else', () => {
    expect(isErrorCode('over_message_quota')).toBe(true);
    expect(isErrorCode('backend_error')).toBe(false);
    expect(isErrorCode(42)).toBe(false);
  });
});

describe('redactSecrets', () => {
  it.each([
    ['wss://a/v1?token=abc.def', 'wss://a/v1?token=[redacted]'],
    ['?key=pk_live_1&x', '?key=[redacted]&x'],
    ['a=ice-pwd:SeCrEt\r\n', 'a=ice-pwd:[redacted]\r\n'],
    ['a=ice-ufrag:abcd', 'a=ice-ufrag:[redacted]'],
    ['{"urls":"turn:x","credential":"hunter2"}', '{"urls":"turn:x","credential":"[redacted]"}'],
    ['Authorization: Bearer sk_id:sk_secret', 'Authorization: Bearer [redacted]'],
    ['nothing to hide', 'nothing to hide'],
  ])('%s', (input, output) => {
    expect(redactSecrets(input)).toBe(output);
  });
});
