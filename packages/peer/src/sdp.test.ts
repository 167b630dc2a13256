import { describe, expect, it } from 'vitest';
import { senderTrackIdsByMid } from './sdp.js';

describe('senderTrackIdsByMid', () => {
  it('maps each media section mid to the track id of its msid', () => {
    const sdp = [
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      'a=mid:0',
      'a=msid:stream-1 mic-1',
      'm=video 9 UDP/TLS/RTP/SAVPF 96',
      'a=mid:1',
      'a=msid:- cam-1',
      'm=video 9 UDP/TLS/RTP/SAVPF 96',
      'a=mid:2',
      'a=ssrc:1234 msid:stream-2 screen-1',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      'a=mid:3',
      'a=msid:stream-3',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
      'a=mid:4',
      '',
    ].join('\r\n');
    expect([...senderTrackIdsByMid(sdp)]).toEqual([
      ['0', 'mic-1'],
      ['1', 'cam-1'],
      ['2', 'screen-1'],
    ]);
  });

  it('is empty without an SDP', () => {
    expect(senderTrackIdsByMid(undefined).size).toBe(0);
    expect(senderTrackIdsByMid('v=0\nm=audio 9 RTP/AVP 0\na=msid:s t\n').size).toBe(0);
  });
});
