import { afterEach, describe, expect, it } from 'vitest';
import {
  NodeMediaStream,
  NodeMediaStreamTrack,
  RTCPeerConnection,
  type NodeRTCTrackEvent,
} from '../src/index.js';
import { mediaSections } from '../src/sdp.js';
import { LOOPBACK } from './helpers.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function connection(): RTCPeerConnection {
  const pc = new RTCPeerConnection(LOOPBACK);
  cleanups.push(() => pc.close());
  return pc;
}

/** The m-line of `sdp` with `mid`, with the lines that name what it sends. */
function section(sdp: string, mid: string) {
  const text = sdp
    .split(/\r?\n(?=m=)/)
    .find((part) => new RegExp(`^a=mid:${mid}\\s*$`, 'm').test(part));
  return {
    parsed: mediaSections(sdp).find((s) => s.mid === mid),
    msidLines: (text ?? '').split(/\r?\n/).filter((line) => /^a=(msid|ssrc)[:-]/.test(line)),
  };
}

describe('answering an m-line the answerer has no track for (JSEP)', () => {
  it('answers sendrecv video as recvonly without msid or SSRC, and still receives the track', async () => {
    const offerer = connection();
    const answerer = connection();
    const track = new NodeMediaStreamTrack({ kind: 'video' });
    const stream = new NodeMediaStream([track]);
    offerer.addTrack(track, stream);
    const audio = new NodeMediaStreamTrack({ kind: 'audio' });
    offerer.addTrack(audio, stream);
    await offerer.setLocalDescription();
    const offer = offerer.localDescription!.sdp;
    const offered = mediaSections(offer).filter((s) => s.kind !== 'application');
    expect(offered.map((s) => s.direction)).toEqual(['sendrecv', 'sendrecv']);

    const tracks: NodeRTCTrackEvent[] = [];
    answerer.addEventListener('track', (event) => tracks.push(event as NodeRTCTrackEvent));
    await answerer.setRemoteDescription({ type: 'offer', sdp: offer });
    await answerer.setLocalDescription();
    const answer = answerer.localDescription!.sdp;
    for (const { mid } of offered) {
      const { parsed, msidLines } = section(answer, mid!);
      expect({ mid, direction: parsed?.direction, msidLines }).toEqual({
        mid,
        direction: 'recvonly',
        msidLines: [],
      });
    }
    // The answerer still receives what the offer sends: one track each, in the offer's stream.
    expect(tracks.map((event) => event.track.kind).sort()).toEqual(['audio', 'video']);
    expect(tracks.map((event) => event.streams.map((s) => s.id))).toEqual([
      [stream.id],
      [stream.id],
    ]);

    // The offerer learns of no remote track from that answer.
    const offererTracks: NodeRTCTrackEvent[] = [];
    offerer.addEventListener('track', (event) => offererTracks.push(event as NodeRTCTrackEvent));
    await offerer.setRemoteDescription({ type: 'answer', sdp: answer });
    expect(offererTracks).toEqual([]);
  });

  it('answers a sendonly m-line recvonly and a recvonly one inactive, without msid', async () => {
    const offerer = connection();
    const track = new NodeMediaStreamTrack({ kind: 'video' });
    offerer.addTrack(track, new NodeMediaStream([track]));
    await offerer.setLocalDescription();
    const offer = offerer.localDescription!.sdp;
    const mid = mediaSections(offer).find((s) => s.kind === 'video')!.mid!;
    const results = [];
    for (const offeredDirection of ['sendonly', 'recvonly'] as const) {
      const answerer = connection();
      const sdp = offer.replace(/^a=sendrecv\r?$/m, `a=${offeredDirection}`);
      await answerer.setRemoteDescription({ type: 'offer', sdp });
      const { parsed, msidLines } = section((await answerer.createAnswer()).sdp, mid);
      results.push({ offeredDirection, direction: parsed?.direction, msidLines });
    }
    expect(results).toEqual([
      { offeredDirection: 'sendonly', direction: 'recvonly', msidLines: [] },
      { offeredDirection: 'recvonly', direction: 'inactive', msidLines: [] },
    ]);
  });
});
