import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPeer, flush, until, useFakeTimers } from '../test/harness.js';
import { FakeRoom } from './testing/index.js';
import {
  MeteredPeerReplaceTrackError,
  MeteredPeerStateError,
  type MeteredPeer,
  type ReplaceTrackFailure,
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

async function joinAll(peers: MeteredPeer[]): Promise<void> {
  for (const peer of peers) await peer.join('room-1');
  await until(
    () => peers.every((peer) => peer.remotePeers.size === peers.length - 1),
    'everyone sees everyone',
  );
}

function pcOf(peer: MeteredPeer, remoteId: string): FakeRTCPeerConnection {
  const remote = peer.remotePeers.get(remoteId);
  if (!remote) throw new Error(`${remoteId} unknown`);
  return remote.pc as FakeRTCPeerConnection;
}

function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

/** Track metadata payloads `from` sent to `to`. */
function trackMeta(room: FakeRoom, from: string, to: string): unknown[] {
  return room
    .directs(from, to)
    .filter((payload) => (payload as { __meteredTrackMeta?: unknown }).__meteredTrackMeta);
}

/** Three joined peers; `peer-a` sends `old` with metadata, and the swap to `peer-b` fails once. */
async function partialFailure() {
  const room = new FakeRoom();
  const pcs = createFakePeerConnectionFactory();
  const [a, b, c] = ['peer-a', 'peer-b', 'peer-c'].map((id) => createPeer(room, id, pcs)) as [
    MeteredPeer,
    MeteredPeer,
    MeteredPeer,
  ];
  await joinAll([a, b, c]);
  const oldTrack = new FakeMediaStreamTrack('video', 'cam-old');
  const newTrack = new FakeMediaStreamTrack('video', 'cam-new');
  a.addTrack(oldTrack, undefined, { role: 'camera' });
  await flush();
  const toB = pcOf(a, 'peer-b').senders[0] as FakeRtpSender;
  const toC = pcOf(a, 'peer-c').senders[0] as FakeRtpSender;
  toB.failReplace = new Error('sender busy');
  const error = await a.replaceTrack(oldTrack, newTrack).catch((err: unknown) => err);
  expect(error).toBeInstanceOf(MeteredPeerReplaceTrackError);
  expect(toB.track).toBe(oldTrack);
  expect(toC.track).toBe(newTrack);
  const close = () => Promise.all([a.close(), b.close(), c.close()]);
  return { room, a, toB, toC, oldTrack, newTrack, error, close };
}

describe('media before join()', () => {
  it('every media method raises invalid_state with the method and the state', async () => {
    const peer = createPeer(new FakeRoom(), 'peer-a', createFakePeerConnectionFactory());
    const track = new FakeMediaStreamTrack();
    const stream = new FakeMediaStream([track]);
    const cases: [string, () => unknown][] = [
      ['add_stream', () => peer.addStream(stream)],
      ['add_track', () => peer.addTrack(track, stream)],
      ['remove_stream', () => peer.removeStream(stream)],
      ['remove_track', () => peer.removeTrack(track)],
    ];
    for (const [method, call] of cases) {
      const error = thrown(call);
      expect(error).toBeInstanceOf(MeteredPeerStateError);
      expect(error).toMatchObject({ code: 'invalid_state', method, currentState: 'idle' });
    }
    await expect(peer.replaceTrack(track, null)).rejects.toMatchObject({
      code: 'invalid_state',
      method: 'replace_track',
      currentState: 'idle',
    });
    expect(peer.getTrackMetadata(track)).toBeNull();
    await peer.close();
  });

  it('while join() is in progress, too', async () => {
    const peer = createPeer(new FakeRoom(), 'peer-a', createFakePeerConnectionFactory());
    const joining = peer.join('room-1');
    expect(peer.state).toBe('joining');
    expect(thrown(() => peer.addTrack(new FakeMediaStreamTrack()))).toMatchObject({
      code: 'invalid_state',
      method: 'add_track',
      currentState: 'joining',
    });
    await joining;
    peer.addTrack(new FakeMediaStreamTrack());
    await peer.close();
  });
});

describe('replaceTrack converges', () => {
  it('the same call again retries exactly the failed peers and resolves when all carry the new track', async () => {
    const { room, a, toB, toC, oldTrack, newTrack, close } = await partialFailure();
    const replaced: unknown[] = [];
    const replaceC = toC.replaceTrack.bind(toC);
    toC.replaceTrack = (track) => {
      replaced.push(track);
      return replaceC(track);
    };
    toB.failReplace = undefined;
    await a.replaceTrack(oldTrack, newTrack);
    expect(toB.track).toBe(newTrack);
    expect(toC.track).toBe(newTrack);
    expect(replaced).toEqual([]);
    await flush();
    expect(trackMeta(room, 'peer-a', 'peer-b').slice(-2)).toEqual([
      { __meteredTrackMeta: { trackId: 'cam-old' } },
      { __meteredTrackMeta: { trackId: 'cam-new', metadata: { role: 'camera' } } },
    ]);
    // Converged: nothing is left to retry, and the old track is no longer sent.
    await expect(a.replaceTrack(oldTrack, newTrack)).rejects.toBeInstanceOf(MeteredPeerStateError);
    await close();
  });

  it('a retry that fails again reports the same peer only', async () => {
    const { a, toB, oldTrack, newTrack, close } = await partialFailure();
    const error = await a.replaceTrack(oldTrack, newTrack).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MeteredPeerReplaceTrackError);
    expect(error).toMatchObject({ succeeded: [], failed: [{ peerId: 'peer-b' }] });
    expect(toB.track).toBe(oldTrack);
    await close();
  });

  it('removeTrack(new) also removes the sender of the peer where the swap failed', async () => {
    const { a, oldTrack, newTrack, close } = await partialFailure();
    a.removeTrack(newTrack);
    expect(pcOf(a, 'peer-b').senders).toEqual([]);
    expect(pcOf(a, 'peer-c').senders).toEqual([]);
    expect(a.getTrackMetadata(newTrack)).toBeNull();
    expect(a.getTrackMetadata(oldTrack)).toBeNull();
    await close();
  });

  it('replacing the new track again reaches the peer still on the old one', async () => {
    const { a, toB, toC, newTrack, close } = await partialFailure();
    toB.failReplace = undefined;
    const third = new FakeMediaStreamTrack('video', 'cam-third');
    await a.replaceTrack(newTrack, third);
    expect(toB.track).toBe(third);
    expect(toC.track).toBe(third);
    await close();
  });

  it('each failure is frozen, like the lists that carry it', async () => {
    const { error, close } = await partialFailure();
    const { failed, succeeded } = error as MeteredPeerReplaceTrackError;
    expect(Object.isFrozen(failed)).toBe(true);
    expect(Object.isFrozen(succeeded)).toBe(true);
    expect(failed.every((failure: ReplaceTrackFailure) => Object.isFrozen(failure))).toBe(true);
    await close();
  });
});

describe('replaceTrack errors', () => {
  it('a track that is not sent, or none, raises MeteredPeerStateError, never a TypeError', async () => {
    const room = new FakeRoom();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(room, 'peer-a', pcs);
    await a.join('room-1');
    const notSent = new FakeMediaStreamTrack();
    for (const oldTrack of [notSent, undefined, null]) {
      const error = await a
        .replaceTrack(oldTrack as unknown as FakeMediaStreamTrack, new FakeMediaStreamTrack())
        .catch((err: unknown) => err);
      expect(error).toBeInstanceOf(MeteredPeerStateError);
      expect(error).toMatchObject({ code: 'invalid_state', method: 'replace_track' });
    }
    await a.close();
  });

  it('never raises track_already_attached (only addTrack and addStream do)', async () => {
    const room = new FakeRoom();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(room, 'peer-a', pcs);
    await a.join('room-1');
    const camera = new FakeMediaStreamTrack();
    const screen = new FakeMediaStreamTrack();
    a.addTrack(camera);
    a.addTrack(screen);
    const error = await a.replaceTrack(camera, screen).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MeteredPeerStateError);
    expect(error).toMatchObject({ code: 'invalid_state', method: 'replace_track' });
    expect(a.getTrackMetadata(camera)).toBeNull();
    await a.close();
  });
});
