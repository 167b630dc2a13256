import { describe, expect, it } from 'vitest';
import {
  PING_FRAME,
  PONG_FRAME,
  encodeAck,
  encodeDirect,
  encodeError,
  encodeGoingAway,
  encodeMessage,
  encodePresence,
  encodePublish,
  encodeSend,
  encodeSubscribe,
  encodeUnsubscribe,
  encodeWelcome,
} from './encode-frames.js';
import { parseClientFrame } from './parse-client-frame.js';
import { parseServerFrame } from './parse-server-frame.js';

describe('client frame builders', () => {
  it('emit the exact bytes of protocol v1', () => {
    expect(encodeSubscribe('room-1', 'r1')).toBe(
      '{"type":"subscribe","channel":"room-1","requestId":"r1"}',
    );
    expect(encodeSubscribe('room-1', 'r1', true)).toBe(
      '{"type":"subscribe","channel":"room-1","requestId":"r1","includeSenderMetadata":true}',
    );
    expect(encodeUnsubscribe('room-1', 'r2')).toBe(
      '{"type":"unsubscribe","channel":"room-1","requestId":"r2"}',
    );
    expect(encodePublish('room-1', null, 'r3')).toBe(
      '{"type":"publish","channel":"room-1","data":null,"requestId":"r3"}',
    );
    expect(encodeSend('p2', { a: 1 }, 'r4')).toBe(
      '{"type":"send","to":"p2","data":{"a":1},"requestId":"r4"}',
    );
    expect(PING_FRAME).toBe('{"type":"ping"}');
  });

  it('refuse undefined data', () => {
    expect(() => encodePublish('c', undefined, 'r')).toThrow(TypeError);
    expect(() => encodeSend('p', undefined, 'r')).toThrow(TypeError);
  });

  it('round-trip through the server-side parser', () => {
    for (const text of [
      encodeSubscribe('c', 'r', true),
      encodeUnsubscribe('c', 'r'),
      encodePublish('c', [1], 'r'),
      encodeSend('p', 'x', 'r'),
      PING_FRAME,
    ]) {
      expect(parseClientFrame(text)).toEqual({ ok: true, frame: JSON.parse(text) });
    }
  });
});

describe('server frame builders', () => {
  it('emit the exact bytes of protocol v1', () => {
    expect(
      encodeWelcome({ peerId: 'p1', expiresAt: null, serverTime: 1, maxMessageSize: 65536 }),
    ).toBe(
      '{"type":"welcome","peerId":"p1","expiresAt":null,"serverTime":1,"maxMessageSize":65536}',
    );
    expect(encodeAck('r1')).toBe('{"type":"ack","requestId":"r1"}');
    expect(encodeError('peer_not_found', 'gone', 'r1')).toBe(
      '{"type":"error","requestId":"r1","code":"peer_not_found","message":"gone"}',
    );
    expect(encodeError('over_message_quota')).toBe('{"type":"error","code":"over_message_quota"}');
    expect(encodeMessage('c', 'p', 1)).toBe('{"type":"message","channel":"c","from":"p","data":1}');
    expect(encodeMessage('c', 'p', 1, { n: 'A' })).toBe(
      '{"type":"message","channel":"c","from":"p","data":1,"fromMetadata":{"n":"A"}}',
    );
    expect(encodeDirect('p', 'x')).toBe('{"type":"direct","from":"p","data":"x"}');
    expect(encodePresence('c', [{ peerId: 'a' }], [])).toBe(
      '{"type":"presence","channel":"c","joined":[{"peerId":"a"}],"left":[]}',
    );
    expect(encodeGoingAway(1000)).toBe('{"type":"going_away","retryAfterMs":1000}');
    expect(PONG_FRAME).toBe('{"type":"pong"}');
  });

  it('round-trip through the client-side parser', () => {
    for (const text of [
      encodeWelcome({
        peerId: 'p',
        expiresAt: 5,
        serverTime: 1,
        maxMessageSize: 10,
        metadata: { a: 1 },
      }),
      encodeAck('r'),
      encodeError('missing_data', 'm', 'r'),
      encodeMessage('c', 'p', null, { a: 1 }),
      encodeDirect('p', [1], { a: 1 }),
      encodePresence('c', [{ peerId: 'a', metadata: { n: 1 } }], [{ peerId: 'b' }]),
      encodeGoingAway(0),
      PONG_FRAME,
    ]) {
      expect(parseServerFrame(text)).toEqual({ ok: true, frame: JSON.parse(text) });
    }
  });
});
