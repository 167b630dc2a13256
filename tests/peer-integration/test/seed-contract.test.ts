import {
  createRtpPacket,
  NodeMediaStream,
  NodeMediaStreamTrack,
  type NodeRTCRtpSender,
} from '@metered/node-webrtc-adapter';
import {
  Data,
  MeteredPeer,
  MeteredPeerOversizedError,
  MeteredPeerReplaceTrackError,
  MeteredPeerSendError,
  MeteredPeerStateError,
  PeerJoined,
  SignallingConnectError,
  Track,
} from '@metered/peer';
import { encodePublish, trackMetaPayload, utf8ByteLength } from '@metered/protocol';
import type { RunningServer } from '@metered/server';
import { Disconnected, DisconnectedError } from '@metered/signalling';
import { rtcPeerConnectionFactory } from '@metered/node-webrtc-adapter';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodePeer, joinMesh, record, startCallServer, waitFor } from './harness.js';

// The error contract against the real server, whose frame cap (`maxMessageSize`, 65,536 bytes by
// default) really closes the connection with 1009.

const CAP = 65_536;
const REQUEST_ID = '8c1f43a2-5d0e-4b7a-9f3c-2e6d1a0b9c8d';

const peers: MeteredPeer[] = [];
const servers: RunningServer[] = [];
const intervals: ReturnType<typeof setInterval>[] = [];

afterEach(async () => {
  for (const interval of intervals.splice(0)) clearInterval(interval);
  await Promise.all(peers.splice(0).map((peer) => peer.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function room(names: string[], channel: string): Promise<MeteredPeer[]> {
  const running = await startCallServer();
  servers.push(running);
  const members = names.map((name) => createNodePeer(running.url, name));
  peers.push(...members);
  await joinMesh(members, channel);
  return members;
}

/** Close codes of the signalling connection under `peer`. */
function closeCodes(peer: MeteredPeer): number[] {
  const codes: number[] = [];
  peer.signalling.on(Disconnected, (event) => codes.push(event.code));
  return codes;
}

function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (err) {
    return err;
  }
  return undefined;
}

function remote(peer: MeteredPeer, id: string) {
  const found = peer.remotePeers.get(id);
  if (!found) throw new Error(`${id} unknown to ${String(peer.peerId)}`);
  return found;
}

/** The sender of `local`'s connection to `remoteId` (the only one). */
function senderTo(local: MeteredPeer, remoteId: string): NodeRTCRtpSender {
  const pc = remote(local, remoteId).pc as unknown as { getSenders(): NodeRTCRtpSender[] };
  const [sender] = pc.getSenders().filter((candidate) => candidate.track !== null);
  if (!sender) throw new Error(`no sender to ${remoteId}`);
  return sender;
}

function pump(track: NodeMediaStreamTrack): void {
  let sequenceNumber = 0;
  intervals.push(
    setInterval(() => {
      sequenceNumber += 1;
      track.writeRtp(
        createRtpPacket({
          payloadType: 96,
          sequenceNumber,
          timestamp: sequenceNumber * 3000,
          ssrc: 5,
          payload: new Uint8Array(40).fill(sequenceNumber & 0xff),
        }),
      );
    }, 10),
  );
}

describe('the size check measures the frame against the welcome cap', () => {
  it('a 65,534-character send is refused before the wire, a frame of exactly the cap goes through, one byte more closes 1009', async () => {
    const channel = 'room-frame-size';
    const [alice, bob] = (await room(['alice', 'bob'], channel)) as [MeteredPeer, MeteredPeer];
    const codes = closeCodes(alice);
    const atBob = record(bob, Data);

    const big = 'x'.repeat(65_534);
    const error = await alice.send(big).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MeteredPeerOversizedError);
    expect(error).toMatchObject({
      size: utf8ByteLength(encodePublish(channel, big, REQUEST_ID)),
      cap: CAP,
    });

    const fits = 'x'.repeat(CAP - utf8ByteLength(encodePublish(channel, '', REQUEST_ID)));
    await alice.send(fits);
    await waitFor(() => atBob.length === 1, 'the frame of exactly the cap at bob');
    expect((atBob[0]?.data as string).length).toBe(fits.length);
    expect(codes).toEqual([]);

    // The same frame one byte longer, past the peer layer: the server closes the connection.
    await expect(alice.signalling.publish(channel, `${fits}y`)).rejects.toBeInstanceOf(
      DisconnectedError,
    );
    expect(codes).toEqual([1009]);
  });

  it('track metadata whose frame would not fit is refused at addTrack and never re-sent', async () => {
    const [alice, bob] = (await room(['alice', 'bob'], 'room-frame-metadata')) as [
      MeteredPeer,
      MeteredPeer,
    ];
    const codes = closeCodes(alice);
    const camera = new NodeMediaStreamTrack({ kind: 'video' });
    // The metadata alone is under the cap; the direct that carries it is not.
    const label = 'x'.repeat(CAP - 100);
    expect(utf8ByteLength(JSON.stringify(trackMetaPayload(camera.id, { label })))).toBeLessThan(
      CAP,
    );
    const error = thrown(() => alice.addTrack(camera, new NodeMediaStream([camera]), { label }));
    expect(error).toBeInstanceOf(MeteredPeerOversizedError);
    expect(alice.getTrackMetadata(camera)).toBeNull();

    // The connection stays up: a message gets across and nothing was closed.
    const atBob = record(bob, Data);
    await alice.send('still here');
    await waitFor(() => atBob.length === 1, 'a message after the refusal');
    expect(codes).toEqual([]);
    expect(alice.state).toBe('joined');
  });
});

describe('bad arguments and states raise the seed classes', () => {
  it('media before join() is invalid_state; after join() the track reaches the other member', async () => {
    const running = await startCallServer();
    servers.push(running);
    const alice = createNodePeer(running.url, 'alice');
    const bob = createNodePeer(running.url, 'bob');
    peers.push(alice, bob);
    const camera = new NodeMediaStreamTrack({ kind: 'video' });
    const stream = new NodeMediaStream([camera]);
    const error = thrown(() => alice.addTrack(camera, stream, { role: 'camera' }));
    expect(error).toBeInstanceOf(MeteredPeerStateError);
    expect(error).toMatchObject({
      code: 'invalid_state',
      method: 'add_track',
      currentState: 'idle',
    });
    expect(thrown(() => alice.addStream(stream))).toMatchObject({
      code: 'invalid_state',
      method: 'add_stream',
    });

    const tracks: Track[] = [];
    bob.on(PeerJoined, ({ peer }) => peer.on(Track, (event) => tracks.push(event)));
    await joinMesh([alice, bob], 'room-media-after-join');
    alice.addTrack(camera, stream, { role: 'camera' });
    await waitFor(() => tracks.length === 1, 'the camera at bob');
    expect(tracks[0]?.metadata).toEqual({ role: 'camera' });
  });

  it('join with an invalid channel name rejects with invalid_args; a refused token with the SignallingConnectError @metered/peer exports', async () => {
    const running = await startCallServer();
    servers.push(running);
    const alice = createNodePeer(running.url, 'alice');
    peers.push(alice);
    for (const channel of ['bad\nname', '']) {
      const error = await alice.join(channel).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(MeteredPeerSendError);
      expect(error).toMatchObject({ code: 'invalid_args' });
    }
    const refused = new MeteredPeer({
      url: running.url,
      tokenProvider: () => Promise.resolve('not-a-token'),
      rtcPeerConnectionFactory,
      reconnect: false,
    });
    peers.push(refused);
    const error = await refused.join('room-1').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SignallingConnectError);
    expect(error).toMatchObject({ closeCode: 4001 });
  });
});

describe('replaceTrack converges', () => {
  it('after a partial failure the same call again retries the failed member, whose side then gets the new track', async () => {
    const [alice, bob, carol] = (await room(['alice', 'bob', 'carol'], 'room-replace')) as [
      MeteredPeer,
      MeteredPeer,
      MeteredPeer,
    ];
    const atBob: Track[] = [];
    const atCarol: Track[] = [];
    remote(bob, 'alice').on(Track, (event) => atBob.push(event));
    remote(carol, 'alice').on(Track, (event) => atCarol.push(event));
    const camera = new NodeMediaStreamTrack({ kind: 'video' });
    const next = new NodeMediaStreamTrack({ kind: 'video' });
    alice.addTrack(camera, new NodeMediaStream([camera]), { role: 'camera' });
    await waitFor(() => atBob.length === 1 && atCarol.length === 1, 'the camera at both');

    const toBob = senderTo(alice, 'bob');
    const cause = new Error('sender busy');
    toBob.replaceTrack = () => Promise.reject(cause);
    const error = await alice.replaceTrack(camera, next).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MeteredPeerReplaceTrackError);
    const { succeeded, failed } = error as MeteredPeerReplaceTrackError;
    expect(succeeded).toEqual(['carol']);
    expect(failed).toEqual([{ peerId: 'bob', err: cause }]);
    expect(Object.isFrozen(failed[0])).toBe(true);
    expect(toBob.track).toBe(camera);

    Reflect.deleteProperty(toBob, 'replaceTrack');
    await alice.replaceTrack(camera, next);
    expect(toBob.track).toBe(next);
    expect(senderTo(alice, 'carol').track).toBe(next);

    // Only the new track carries media now, and bob receives it.
    pump(next);
    const received = atBob[0]?.track as unknown as NodeMediaStreamTrack;
    const before = received.packetsReceived;
    await waitFor(() => received.packetsReceived >= before + 10, 'RTP of the new track at bob');
  });

  it('removeTrack(new) after a partial failure stops the failed member’s sender too', async () => {
    const [alice] = (await room(['alice', 'bob', 'carol'], 'room-remove')) as [MeteredPeer];
    const camera = new NodeMediaStreamTrack({ kind: 'video' });
    const next = new NodeMediaStreamTrack({ kind: 'video' });
    alice.addTrack(camera, new NodeMediaStream([camera]));
    await waitFor(() => {
      try {
        return senderTo(alice, 'bob').track === camera && senderTo(alice, 'carol').track === camera;
      } catch {
        return false;
      }
    }, 'senders to both');
    const toBob = senderTo(alice, 'bob');
    toBob.replaceTrack = () => Promise.reject(new Error('sender busy'));
    await expect(alice.replaceTrack(camera, next)).rejects.toBeInstanceOf(
      MeteredPeerReplaceTrackError,
    );
    alice.removeTrack(next);
    for (const id of ['bob', 'carol']) {
      const pc = remote(alice, id).pc as unknown as { getSenders(): NodeRTCRtpSender[] };
      expect(pc.getSenders().filter((sender) => sender.track !== null)).toEqual([]);
    }
  });

  it('replacing with a track already sent is invalid_state, never track_already_attached', async () => {
    const [alice] = (await room(['alice', 'bob'], 'room-replace-attached')) as [MeteredPeer];
    const camera = new NodeMediaStreamTrack({ kind: 'video' });
    const screen = new NodeMediaStreamTrack({ kind: 'video' });
    alice.addTrack(camera);
    alice.addTrack(screen);
    const error = await alice.replaceTrack(camera, screen).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MeteredPeerStateError);
    expect(error).toMatchObject({ code: 'invalid_state', method: 'replace_track' });
  });
});
