import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPeer, flush, record, until, useFakeTimers } from '../test/harness.js';
import { FakeRoom } from './testing/index.js';
import {
  DataChannelOpened,
  IceCandidateError,
  MeteredPeerReplaceTrackError,
  MeteredPeerStateError,
  NegotiationError,
  PeerJoined,
  StateChange,
  StreamAdded,
  StreamRemoved,
  Track,
  type MeteredPeer,
  type RemotePeer,
} from './index.js';
import {
  createFakePeerConnectionFactory,
  FakeMediaStream,
  FakeMediaStreamTrack,
  type FakeRTCPeerConnection,
  type FakeRtpSender,
} from './testing/index.js';

beforeEach(() => {
  useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

const room = (): FakeRoom => new FakeRoom();

async function joinAll(peers: MeteredPeer[], ids: string[]): Promise<void> {
  for (const peer of peers) await peer.join('room-1');
  await until(
    () =>
      peers.every((peer) =>
        ids.filter((id) => id !== peer.peerId).every((id) => peer.remotePeers.has(id)),
      ),
    'discovery',
  );
}

function remoteOf(peer: MeteredPeer, remoteId: string): RemotePeer {
  const remote = peer.remotePeers.get(remoteId);
  if (!remote) throw new Error(`${remoteId} unknown`);
  return remote;
}

function pcOf(peer: MeteredPeer, remoteId: string): FakeRTCPeerConnection {
  const remote = peer.remotePeers.get(remoteId);
  if (!remote) throw new Error(`${remoteId} unknown`);
  return remote.pc as FakeRTCPeerConnection;
}

function descriptionTypes(payloads: unknown[]): string[] {
  return payloads.flatMap((payload) => {
    const value = payload as {
      type?: string;
      description?: { type: string };
      __meteredTrackMeta?: unknown;
    };
    if (value.type === 'rtc-description') return [value.description?.type ?? '?'];
    if (value.__meteredTrackMeta) return ['meta'];
    return [];
  });
}

function stable(...pcs: FakeRTCPeerConnection[]): boolean {
  return pcs.every((pc) => pc.signalingState === 'stable');
}

describe('negotiation', () => {
  it('a pair without media or data channel never negotiates', async () => {
    const server = room();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(server, 'peer-a', pcs);
    const b = createPeer(server, 'peer-b', pcs);
    await joinAll([a, b], ['peer-a', 'peer-b']);
    await flush();
    expect(server.directs('peer-a', 'peer-b')).toEqual([]);
    expect(server.directs('peer-b', 'peer-a')).toEqual([]);
    expect(a.remotePeers.get('peer-b')?.state).toBe('idle');
    expect(pcs.instances.every((pc) => pc.localDescription === null)).toBe(true);
    await a.close();
    await b.close();
  });

  it('the smaller id is polite', async () => {
    const server = room();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(server, 'peer-a', pcs);
    const b = createPeer(server, 'peer-b', pcs);
    await joinAll([a, b], ['peer-a', 'peer-b']);
    expect(a.remotePeers.get('peer-b')?.polite).toBe(true);
    expect(b.remotePeers.get('peer-a')?.polite).toBe(false);
    await a.close();
    await b.close();
  });

  it('both sides offering at once (glare) converge, each receiving the other track', async () => {
    const server = room();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(server, 'peer-a', pcs);
    const b = createPeer(server, 'peer-b', pcs);
    await joinAll([a, b], ['peer-a', 'peer-b']);
    const atA = record(remoteOf(a, 'peer-b'), Track);
    const atB = record(remoteOf(b, 'peer-a'), Track);
    const errors = [
      ...record(remoteOf(a, 'peer-b'), NegotiationError),
      ...record(remoteOf(b, 'peer-a'), NegotiationError),
    ];
    // Both add a track in the same tick: both fire negotiationneeded and offer.
    a.addTrack(new FakeMediaStreamTrack('audio'), undefined, { from: 'a' });
    b.addTrack(new FakeMediaStreamTrack('video'), undefined, { from: 'b' });
    await until(() => atA.length === 1 && atB.length === 1, 'tracks');
    await until(() => stable(pcOf(a, 'peer-b'), pcOf(b, 'peer-a')), 'stable');
    // The collision happened: each side's first description was an offer.
    expect(descriptionTypes(server.directs('peer-a', 'peer-b'))[1]).toBe('offer');
    expect(descriptionTypes(server.directs('peer-b', 'peer-a'))[1]).toBe('offer');
    expect(atA[0]?.metadata).toEqual({ from: 'b' });
    expect(atB[0]?.metadata).toEqual({ from: 'a' });
    expect(errors).toEqual([]);
    await a.close();
    await b.close();
  });

  it('sends track metadata before the offer and maps it through the msid to a receiver track id', async () => {
    const server = room();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(server, 'peer-a', pcs);
    const b = createPeer(server, 'peer-b', pcs);
    await joinAll([a, b], ['peer-a', 'peer-b']);
    const remote = remoteOf(b, 'peer-a');
    const tracks = record(remote, Track);
    const streams = record(remote, StreamAdded);
    const camera = new FakeMediaStreamTrack('video', 'camera-1');
    const mic = new FakeMediaStreamTrack('audio', 'mic-1');
    const stream = new FakeMediaStream([camera, mic], 'local-stream');
    a.addStream(stream, { role: 'camera' });
    await until(() => tracks.length === 2, 'tracks');
    expect(descriptionTypes(server.directs('peer-a', 'peer-b')).slice(0, 3)).toEqual([
      'meta',
      'meta',
      'offer',
    ]);
    for (const event of tracks) {
      expect(event.track.id).not.toBe('camera-1');
      expect(event.metadata).toEqual({ role: 'camera' });
      expect(event.streams[0]?.id).toBe('local-stream');
    }
    expect(streams).toHaveLength(1);
    expect(streams[0]?.metadata).toEqual({ role: 'camera' });
    await until(() => remote.state === 'connecting', 'connecting');
    pcOf(b, 'peer-a').setConnectionState('connected');
    expect(remote.state).toBe('connected');
    await a.close();
    await b.close();
  });

  it('sends metadata again under the msid track id when the SDP announces another id (a reused transceiver)', async () => {
    const server = room();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(server, 'peer-a', pcs);
    const b = createPeer(server, 'peer-b', pcs);
    await joinAll([a, b], ['peer-a', 'peer-b']);
    const tracks = record(remoteOf(b, 'peer-a'), Track);
    const camera = new FakeMediaStreamTrack('video', 'camera-1');
    a.addStream(new FakeMediaStream([camera], 'local-stream'), { role: 'camera' });
    // As a browser does on a transceiver the remote offer created: the msid names its sender.
    for (const sender of pcOf(a, 'peer-b').senders) sender.msidTrackId = 'sender-7';
    await until(() => tracks.length === 1, 'track');
    expect(tracks[0]?.metadata).toEqual({ role: 'camera' });
    const directs = server.directs('peer-a', 'peer-b');
    expect(descriptionTypes(directs).slice(0, 3)).toEqual(['meta', 'meta', 'offer']);
    expect(directs.slice(0, 2)).toEqual([
      { __meteredTrackMeta: { trackId: 'camera-1', metadata: { role: 'camera' } } },
      { __meteredTrackMeta: { trackId: 'sender-7', metadata: { role: 'camera' } } },
    ]);
    // Once per track and id: the next negotiation does not send it again.
    a.addStream(new FakeMediaStream([new FakeMediaStreamTrack('audio', 'mic-1')], 'mic-stream'));
    await until(() => tracks.length === 2, 'second track');
    const metaIds = server
      .directs('peer-a', 'peer-b')
      .map(
        (payload) => (payload as { __meteredTrackMeta?: { trackId: string } }).__meteredTrackMeta,
      )
      .flatMap((meta) => (meta ? [meta.trackId] : []));
    expect(metaIds).toEqual(['camera-1', 'sender-7']);
    await a.close();
    await b.close();
  });

  it('re-sends metadata to a newcomer, before its offer', async () => {
    const server = room();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(server, 'peer-a', pcs);
    const b = createPeer(server, 'peer-b', pcs);
    await joinAll([a, b], ['peer-a', 'peer-b']);
    a.addTrack(new FakeMediaStreamTrack('audio', 'mic-1'), undefined, { role: 'mic' });
    await flush();
    const c = createPeer(server, 'peer-c', pcs);
    const seen: unknown[] = [];
    c.on(PeerJoined, (event) => void event.peer.on(Track, (track) => seen.push(track.metadata)));
    await c.join('room-1');
    await until(() => seen.length === 1, 'track at newcomer');
    expect(seen).toEqual([{ role: 'mic' }]);
    expect(descriptionTypes(server.directs('peer-a', 'peer-c')).slice(0, 2)).toEqual([
      'meta',
      'offer',
    ]);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('removeTrack clears metadata, renegotiates, and the stream ends at the receiver', async () => {
    const server = room();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(server, 'peer-a', pcs);
    const b = createPeer(server, 'peer-b', pcs);
    await joinAll([a, b], ['peer-a', 'peer-b']);
    const remote = remoteOf(b, 'peer-a');
    const removed = record(remote, StreamRemoved);
    const track = new FakeMediaStreamTrack('audio', 'mic-1');
    const stream = new FakeMediaStream([track]);
    a.addTrack(track, stream, { role: 'mic' });
    await until(
      () =>
        stable(pcOf(a, 'peer-b'), pcOf(b, 'peer-a')) && pcOf(b, 'peer-a').receivedTracks.size === 1,
      'negotiated',
    );
    a.removeStream(stream);
    await until(() => removed.length === 1, 'stream removed');
    const metas = server
      .directs('peer-a', 'peer-b')
      .filter((payload) => (payload as { __meteredTrackMeta?: unknown }).__meteredTrackMeta);
    expect(metas.at(-1)).toEqual({ __meteredTrackMeta: { trackId: 'mic-1' } });
    expect(a.getTrackMetadata(track)).toBeNull();
    await a.close();
    await b.close();
  });

  it('relays ICE candidates and end-of-candidates', async () => {
    const server = room();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(server, 'peer-a', pcs);
    const b = createPeer(server, 'peer-b', pcs);
    await joinAll([a, b], ['peer-a', 'peer-b']);
    a.addTrack(new FakeMediaStreamTrack());
    await until(() => pcOf(b, 'peer-a').addedCandidates.length >= 2, 'candidates at b');
    await until(() => pcOf(a, 'peer-b').addedCandidates.length >= 2, 'candidates at a');
    expect(pcOf(b, 'peer-a').addedCandidates).toContainEqual(null);
    expect(pcOf(b, 'peer-a').addedCandidates[0]).toMatchObject({ sdpMid: '0', sdpMLineIndex: 0 });
    await a.close();
    await b.close();
  });

  it('reports a failed remote description as NegotiationError and a rejected candidate as IceCandidateError', async () => {
    const server = room();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(server, 'peer-a', pcs);
    const b = createPeer(server, 'peer-b', pcs);
    await joinAll([a, b], ['peer-a', 'peer-b']);
    const remote = remoteOf(b, 'peer-a');
    const negotiation = record(remote, NegotiationError);
    const candidates = record(remote, IceCandidateError);
    const pc = pcOf(b, 'peer-a');
    pc.failSetRemoteDescription = new Error('bad sdp');
    pc.failAddIceCandidate = new Error('bad candidate');
    a.addTrack(new FakeMediaStreamTrack());
    await until(() => negotiation.length === 1 && candidates.length >= 1, 'errors');
    expect((negotiation[0]?.err as Error).message).toBe('bad sdp');
    expect((candidates[0]?.err as Error).message).toBe('bad candidate');
    await a.close();
    await b.close();
  });

  it('a data channel negotiates and opens at the other side', async () => {
    const server = room();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(server, 'peer-a', pcs);
    const b = createPeer(server, 'peer-b', pcs);
    await joinAll([a, b], ['peer-a', 'peer-b']);
    const opened = record(remoteOf(b, 'peer-a'), DataChannelOpened);
    a.remotePeers.get('peer-b')?.createDataChannel('files');
    await until(() => opened.length === 1, 'data channel');
    expect((opened[0]?.channel as unknown as { label: string }).label).toBe('files');
    await a.close();
    await b.close();
  });

  it('replaceTrack partial failure reports succeeded and failed peers', async () => {
    const server = room();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(server, 'peer-a', pcs);
    const b = createPeer(server, 'peer-b', pcs);
    const c = createPeer(server, 'peer-c', pcs);
    await joinAll([a, b, c], ['peer-a', 'peer-b', 'peer-c']);
    const oldTrack = new FakeMediaStreamTrack('video', 'cam-old');
    const newTrack = new FakeMediaStreamTrack('video', 'cam-new');
    a.addTrack(oldTrack, undefined, { role: 'camera' });
    await flush();
    const toB = pcOf(a, 'peer-b').senders[0] as FakeRtpSender;
    const toC = pcOf(a, 'peer-c').senders[0] as FakeRtpSender;
    const cause = new Error('sender gone');
    toB.failReplace = cause;
    const error = await a.replaceTrack(oldTrack, newTrack).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MeteredPeerReplaceTrackError);
    expect(error).toMatchObject({
      succeeded: ['peer-c'],
      failed: [{ peerId: 'peer-b', err: cause }],
    });
    expect(toC.track).toBe(newTrack);
    expect(toB.track).toBe(oldTrack);
    await flush();
    const toCMeta = server
      .directs('peer-a', 'peer-c')
      .filter((payload) => (payload as { __meteredTrackMeta?: unknown }).__meteredTrackMeta);
    expect(toCMeta.slice(-2)).toEqual([
      { __meteredTrackMeta: { trackId: 'cam-old' } },
      { __meteredTrackMeta: { trackId: 'cam-new', metadata: { role: 'camera' } } },
    ]);
    // The failed peer still has the old track and its metadata: nothing about it changed.
    expect(
      server
        .directs('peer-a', 'peer-b')
        .filter((payload) => (payload as { __meteredTrackMeta?: unknown }).__meteredTrackMeta),
    ).toEqual([{ __meteredTrackMeta: { trackId: 'cam-old', metadata: { role: 'camera' } } }]);
    // Sending nothing reaches both, whichever track each carried.
    toB.failReplace = undefined;
    await a.replaceTrack(newTrack, null);
    expect(toC.track).toBeNull();
    expect(toB.track).toBeNull();
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('replaceTrack succeeding everywhere resolves', async () => {
    const server = room();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(server, 'peer-a', pcs);
    const b = createPeer(server, 'peer-b', pcs);
    await joinAll([a, b], ['peer-a', 'peer-b']);
    const oldTrack = new FakeMediaStreamTrack();
    const newTrack = new FakeMediaStreamTrack();
    a.addTrack(oldTrack);
    await flush();
    await a.replaceTrack(oldTrack, newTrack);
    expect((pcOf(a, 'peer-b').senders[0] as FakeRtpSender).track).toBe(newTrack);
    await expect(a.replaceTrack(oldTrack, newTrack)).rejects.toBeInstanceOf(MeteredPeerStateError);
    await a.close();
    await b.close();
  });

  it('RemotePeer reports its state changes', async () => {
    const server = room();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(server, 'peer-a', pcs);
    const b = createPeer(server, 'peer-b', pcs);
    await joinAll([a, b], ['peer-a', 'peer-b']);
    const remote = remoteOf(a, 'peer-b');
    const states = record(remote, StateChange);
    a.addTrack(new FakeMediaStreamTrack());
    await until(() => remote.state === 'connecting', 'connecting');
    const pc = pcOf(a, 'peer-b');
    pc.setConnectionState('connected');
    pc.setConnectionState('disconnected');
    pc.setConnectionState('connected');
    expect(states.map((event) => event.to)).toEqual([
      'connecting',
      'connected',
      'reconnecting',
      'connected',
    ]);
    await a.close();
    expect(states.at(-1)?.to).toBe('closed');
    await b.close();
  });
});
