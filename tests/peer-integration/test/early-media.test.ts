import {
  createRtpPacket,
  NodeMediaStream,
  NodeMediaStreamTrack,
} from '@metered/node-webrtc-adapter';
import { PeerJoined, Track, type MeteredPeer } from '@metered/peer';
import type { RunningServer } from '@metered/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodePeer, startCallServer, waitFor } from './harness.js';

const peers: MeteredPeer[] = [];
const servers: RunningServer[] = [];
const intervals: ReturnType<typeof setInterval>[] = [];

afterEach(async () => {
  for (const interval of intervals.splice(0)) clearInterval(interval);
  await Promise.all(peers.splice(0).map((peer) => peer.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** Every `Track` event any remote peer of `local` fires, from the moment it joins. */
function remoteTracks(local: MeteredPeer): Track[] {
  const tracks: Track[] = [];
  local.on(PeerJoined, ({ peer }) => {
    peer.on(Track, (event) => tracks.push(event));
  });
  return tracks;
}

/** Writes RTP into `track` every 10 ms until the end of the test. */
function pump(track: NodeMediaStreamTrack, payloadType: number): void {
  let sequenceNumber = 0;
  intervals.push(
    setInterval(() => {
      sequenceNumber += 1;
      track.writeRtp(
        createRtpPacket({
          payloadType,
          sequenceNumber,
          timestamp: sequenceNumber * 960,
          ssrc: 99,
          payload: new Uint8Array(40).fill(sequenceNumber & 0xff),
        }),
      );
    }, 10),
  );
}

function received(event: Track | undefined): number {
  return (event?.track as unknown as NodeMediaStreamTrack | undefined)?.packetsReceived ?? 0;
}

describe('media added as soon as join() resolved, before the other side is seen', () => {
  it('audio and video against video: each side receives every track of the other', async () => {
    const running = await startCallServer();
    servers.push(running);
    const alice = createNodePeer(running.url, 'alice');
    const bob = createNodePeer(running.url, 'bob');
    peers.push(alice, bob);

    const atAlice = remoteTracks(alice);
    const atBob = remoteTracks(bob);
    const mic = new NodeMediaStreamTrack({ kind: 'audio' });
    const aliceCamera = new NodeMediaStreamTrack({ kind: 'video' });
    await alice.join('room-early-media');
    alice.addTrack(mic, new NodeMediaStream([mic, aliceCamera]), { role: 'mic' });
    alice.addTrack(aliceCamera, new NodeMediaStream([mic, aliceCamera]), { role: 'camera' });
    const bobCamera = new NodeMediaStreamTrack({ kind: 'video' });
    await bob.join('room-early-media');
    bob.addTrack(bobCamera, new NodeMediaStream([bobCamera]), { role: 'camera' });
    await waitFor(() => atBob.length >= 2 && atAlice.length >= 1, 'remote tracks');

    expect(atBob.map((event) => event.track.kind).sort()).toEqual(['audio', 'video']);
    expect(atAlice.map((event) => event.track.kind)).toEqual(['video']);
    expect(atAlice[0]?.metadata).toEqual({ role: 'camera' });
    expect(atBob.map((event) => event.metadata?.role).sort()).toEqual(['camera', 'mic']);

    pump(mic, 111);
    pump(aliceCamera, 96);
    pump(bobCamera, 96);
    await waitFor(
      () => atBob.every((event) => received(event) >= 10) && received(atAlice[0]) >= 10,
      'RTP packets on every remote track',
    );
    expect(atBob).toHaveLength(2);
    expect(atAlice).toHaveLength(1);
  });
});
