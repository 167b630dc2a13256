import { describe, expect, it } from 'vitest';
import {
  parseRtcSignal,
  rtcDescriptionPayload,
  rtcIcePayload,
  trackMetaPayload,
} from './rtc-signals.js';

describe('parseRtcSignal', () => {
  it.each([
    [
      'an offer',
      { type: 'rtc-description', description: { type: 'offer', sdp: 'v=0' } },
      { type: 'rtc-description', description: { type: 'offer', sdp: 'v=0' } },
    ],
    [
      'a candidate',
      {
        type: 'rtc-ice',
        candidate: {
          candidate: 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host',
          sdpMid: '0',
          sdpMLineIndex: 0,
        },
      },
      {
        type: 'rtc-ice',
        candidate: {
          candidate: 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host',
          sdpMid: '0',
          sdpMLineIndex: 0,
        },
      },
    ],
    [
      'end of candidates',
      { type: 'rtc-ice', candidate: null },
      { type: 'rtc-ice', candidate: null },
    ],
    [
      'track metadata',
      { __meteredTrackMeta: { trackId: 't1', metadata: { role: 'camera' } } },
      { type: 'track-meta', trackId: 't1', metadata: { role: 'camera' } },
    ],
    [
      'a metadata clear',
      { __meteredTrackMeta: { trackId: 't1' } },
      { type: 'track-meta', trackId: 't1' },
    ],
  ])('recognises %s', (_name, data, signal) => {
    expect(parseRtcSignal(data)).toEqual(signal);
  });

  it.each([
    ['a string', 'hello'],
    ['null', null],
    ['an array', [1]],
    ['a pranswer', { type: 'rtc-description', description: { type: 'pranswer', sdp: '' } }],
    ['a description without sdp', { type: 'rtc-description', description: { type: 'offer' } }],
    ['a string candidate', { type: 'rtc-ice', candidate: 'candidate:1' }],
    ['array track metadata', { __meteredTrackMeta: { trackId: 't', metadata: [1] } }],
    ['empty track id', { __meteredTrackMeta: { trackId: '' } }],
    ['application object', { type: 'chat', text: 'hi' }],
  ])('treats %s as application data', (_name, data) => {
    expect(parseRtcSignal(data)).toBeNull();
  });
});

describe('signal payloads', () => {
  it('round-trip', () => {
    for (const payload of [
      rtcDescriptionPayload({ type: 'answer', sdp: 'v=0' }),
      rtcIcePayload(null),
      trackMetaPayload('t', { a: 1 }),
    ]) {
      expect(parseRtcSignal(JSON.parse(JSON.stringify(payload)))).not.toBeNull();
    }
    expect(trackMetaPayload('t')).toEqual({ __meteredTrackMeta: { trackId: 't' } });
    expect(
      JSON.parse(JSON.stringify(rtcIcePayload({ candidate: 'c', sdpMid: '0', sdpMLineIndex: 0 }))),
    ).toEqual({ type: 'rtc-ice', candidate: { candidate: 'c', sdpMid: '0', sdpMLineIndex: 0 } });
  });
});

describe('the sender connection id', () => {
  it('travels with descriptions and candidates, and back', () => {
    const offer = rtcDescriptionPayload({ type: 'offer', sdp: 'v=0' }, 'c1');
    expect(offer).toEqual({
      type: 'rtc-description',
      description: { type: 'offer', sdp: 'v=0' },
      connectionId: 'c1',
    });
    expect(parseRtcSignal(JSON.parse(JSON.stringify(offer)))).toEqual(offer);
    const end = rtcIcePayload(null, 'c1');
    expect(parseRtcSignal(JSON.parse(JSON.stringify(end)))).toEqual(end);
    const candidate = rtcIcePayload({ candidate: 'c', sdpMid: '0', sdpMLineIndex: 0 }, 'c1');
    expect(parseRtcSignal(JSON.parse(JSON.stringify(candidate)))).toMatchObject({
      connectionId: 'c1',
    });
  });

  it.each([
    ['a number', 7],
    ['an empty string', ''],
    ['65 characters', 'x'.repeat(65)],
  ])('is left out when it is %s', (_name, connectionId) => {
    expect(
      parseRtcSignal({
        type: 'rtc-description',
        description: { type: 'answer', sdp: 'v=0' },
        connectionId,
      }),
    ).toEqual({ type: 'rtc-description', description: { type: 'answer', sdp: 'v=0' } });
  });
});
