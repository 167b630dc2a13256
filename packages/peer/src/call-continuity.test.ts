import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPeer, flush, record, until, useFakeTimers } from '../test/harness.js';
import {
  ConnectionReset,
  Data,
  PeerJoined,
  PeerLeft,
  type MeteredPeer,
  type RemotePeer,
} from './index.js';
import {
  createFakePeerConnectionFactory,
  FakeMediaStreamTrack,
  FakeRoom,
  type FakeRTCPeerConnection,
} from './testing/index.js';

// A call is peer to peer: once connected it does not depend on the signalling server. These pin
// down what survives a signalling reconnect and what is replaced.

beforeEach(() => {
  useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

async function advance(ms: number, step = 500): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += step) {
    await vi.advanceTimersByTimeAsync(Math.min(step, ms - elapsed));
    await flush(3);
  }
}

function remoteOf(peer: MeteredPeer, id: string): RemotePeer {
  const remote = peer.remotePeers.get(id);
  if (!remote) throw new Error(`${peer.peerId ?? '?'} has no remote ${id}`);
  return remote;
}

const isAnswer = (data: unknown): boolean =>
  (data as { description?: { type?: string } }).description?.type === 'answer';
const isOffer = (data: unknown): boolean =>
  (data as { description?: { type?: string } }).description?.type === 'offer';

const pcOf = (peer: MeteredPeer, id: string): FakeRTCPeerConnection =>
  remoteOf(peer, id).pc as unknown as FakeRTCPeerConnection;

/** Two peers with a negotiated, connected call (a sends a track). */
async function connectedCall() {
  const room = new FakeRoom();
  const pcs = createFakePeerConnectionFactory();
  const a = createPeer(room, 'peer-a', pcs);
  const b = createPeer(room, 'peer-b', pcs);
  await a.join('room-1');
  await b.join('room-1');
  await until(() => a.remotePeers.size === 1 && b.remotePeers.size === 1, 'members');
  a.addTrack(new FakeMediaStreamTrack('audio', 'mic-a'), undefined, { role: 'mic' });
  await until(
    () =>
      pcOf(a, 'peer-b').signalingState === 'stable' &&
      pcOf(a, 'peer-b').remoteDescription?.type === 'answer',
    'negotiated',
  );
  pcOf(a, 'peer-b').setConnectionState('connected');
  pcOf(b, 'peer-a').setConnectionState('connected');
  return { room, a, b };
}

describe('a connected call across a signalling reconnect', () => {
  it('one side blips: both keep their connection, nobody leaves, no ConnectionReset', async () => {
    const { room, a, b } = await connectedCall();
    const atA = { pc: pcOf(a, 'peer-b'), remote: remoteOf(a, 'peer-b') };
    const atB = { pc: pcOf(b, 'peer-a'), remote: remoteOf(b, 'peer-a') };
    const resets = [record(atA.remote, ConnectionReset), record(atB.remote, ConnectionReset)];
    const left = [record(a, PeerLeft), record(b, PeerLeft)];
    const joined = [record(a, PeerJoined), record(b, PeerJoined)];

    room.drop('peer-a');
    await until(() => a.state === 'reconnecting', 'a reconnecting');
    await advance(2_000);
    await until(() => a.state === 'joined', 'a joined again');
    await advance(12_000);

    expect(remoteOf(a, 'peer-b')).toBe(atA.remote);
    expect(remoteOf(b, 'peer-a')).toBe(atB.remote);
    expect(atA.remote.pc).toBe(atA.pc);
    expect(atB.remote.pc).toBe(atB.pc);
    expect([atA.pc.closed, atB.pc.closed]).toEqual([false, false]);
    expect(resets.map((list) => list.length)).toEqual([0, 0]);
    expect(left.map((list) => list.length)).toEqual([0, 0]);
    expect(joined.map((list) => list.length)).toEqual([0, 0]);
    expect([atA.remote.state, atB.remote.state]).toEqual(['connected', 'connected']);
    // The kept side re-sent its track metadata (the other may have missed it), nothing else.
    const sentAfter = room.directs('peer-a', 'peer-b').slice(-1);
    expect(sentAfter).toEqual([
      { __meteredTrackMeta: { trackId: 'mic-a', metadata: { role: 'mic' } } },
    ]);

    const atBData = record(b, Data);
    await a.sendTo('peer-b', 'after');
    await until(() => atBData.length === 1, 'data after the blip');
    await Promise.all([a.close(), b.close()]);
    await flush();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a member presence reports as gone while connected is held, and leaves at the deadline', async () => {
    const { room, a, b } = await connectedCall();
    const left = record(b, PeerLeft);
    room.refuse.add('peer-a');
    room.drop('peer-a');
    await advance(9_000);
    expect(left).toEqual([]);
    expect(remoteOf(b, 'peer-a').state).toBe('connected');
    await advance(2_000);
    expect(left.map((event) => event.peer.id)).toEqual(['peer-a']);
    await Promise.all([a.close(), b.close()]);
  });

  it('a held member whose connection closes leaves at once', async () => {
    const { room, a, b } = await connectedCall();
    const left = record(b, PeerLeft);
    room.refuse.add('peer-a');
    room.drop('peer-a');
    await advance(1_000);
    expect(left).toEqual([]);
    pcOf(b, 'peer-a').setConnectionState('closed');
    await flush();
    expect(left.map((event) => event.peer.id)).toEqual(['peer-a']);
    await Promise.all([a.close(), b.close()]);
  });

  it('a connection that closes while the signalling is down is rebuilt once; its offer waits for the roster', async () => {
    const { room, a, b } = await connectedCall();
    const atA = remoteOf(a, 'peer-b');
    const resets = record(atA, ConnectionReset);
    const offersBefore = room.directs('peer-a', 'peer-b').filter(isOffer).length;
    room.refuse.add('peer-a');
    room.drop('peer-a');
    await until(() => a.state === 'reconnecting', 'a reconnecting');
    // The other side replaced its connection meanwhile (as the vendor's SDK does): ours closes.
    pcOf(a, 'peer-b').setConnectionState('closed');
    await flush();
    expect(resets).toHaveLength(1);
    const rebuilt = pcOf(a, 'peer-b');
    await advance(1_000);
    // No offer while b's presence is not confirmed: it could reach a connection b replaces.
    expect(rebuilt.signalingState).toBe('stable');
    expect(rebuilt.localDescription).toBeNull();
    room.refuse.delete('peer-a');
    await advance(2_000);
    await until(() => a.state === 'joined', 'a joined again');
    await until(
      () => rebuilt.remoteDescription?.type === 'answer',
      'the rebuilt connection answered',
    );
    // Kept at the reconcile (it is already the new one): one reset, one offer.
    expect(pcOf(a, 'peer-b')).toBe(rebuilt);
    expect(resets).toHaveLength(1);
    expect(room.directs('peer-a', 'peer-b').filter(isOffer)).toHaveLength(offersBefore + 1);
    expect(pcOf(b, 'peer-a').receivedTracks.size).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('a member late after a restart whose connection closes keeps its RemotePeer with a new connection', async () => {
    const { room, a, b } = await connectedCall();
    const atA = remoteOf(a, 'peer-b');
    const resets = record(atA, ConnectionReset);
    const left = record(a, PeerLeft);
    room.refuse.add('peer-b');
    room.restart();
    await advance(2_000);
    await until(() => a.state === 'joined', 'a joined again without b');
    // b is late; its connection closes (it replaces its connection when it is back).
    pcOf(a, 'peer-b').setConnectionState('closed');
    await flush();
    expect(left).toEqual([]);
    expect(resets).toHaveLength(1);
    room.refuse.delete('peer-b');
    await advance(3_000);
    await until(() => b.state === 'joined', 'b joined again');
    await until(() => pcOf(a, 'peer-b').remoteDescription?.type === 'answer', 'negotiated again');
    expect(remoteOf(a, 'peer-b')).toBe(atA);
    expect(left).toEqual([]);
    expect(resets).toHaveLength(1);
    await advance(12_000);
    expect(left).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });

  it('an offer of our own that was still unanswered goes out again after the reconnect', async () => {
    const { room, a, b } = await connectedCall();
    // a's next offer is lost with its socket.
    room.dropDirect = (from, _to, data) =>
      from === 'peer-a' && (data as { type?: string }).type === 'rtc-description';
    a.addTrack(new FakeMediaStreamTrack('video', 'cam-a'));
    await until(() => pcOf(a, 'peer-b').signalingState === 'have-local-offer', 'offer out');
    room.dropDirect = undefined;
    room.drop('peer-a');
    await advance(2_000);
    await until(() => a.state === 'joined', 'joined again');
    await until(() => pcOf(a, 'peer-b').signalingState === 'stable', 'answered after reconnect');
    expect(pcOf(b, 'peer-a').receivedTracks.size).toBe(2);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('replacing only what is dead', () => {
  it('a connection that closes by itself is rebuilt; the other side follows the new connection id', async () => {
    const { a, b } = await connectedCall();
    const atA = remoteOf(a, 'peer-b');
    const atB = remoteOf(b, 'peer-a');
    const resets = [record(atA, ConnectionReset), record(atB, ConnectionReset)];
    const oldB = atB.pc;
    // a's connection dies (a Node connection closes itself on failure).
    const oldA = pcOf(a, 'peer-b');
    oldA.setConnectionState('closed');
    await until(() => resets[0]?.length === 1, 'a rebuilt');
    // a's new connection offers (it has a track); b sees another connection id and follows.
    await until(() => resets[1]?.length === 1, 'b followed');
    expect(atB.pc).not.toBe(oldB);
    await until(() => pcOf(a, 'peer-b').remoteDescription?.type === 'answer', 'answered');
    expect(pcOf(b, 'peer-a').receivedTracks.size).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('a peer without connection ids that starts a new connection is noticed by its fingerprint', async () => {
    const { room, a, b } = await connectedCall();
    const atB = remoteOf(b, 'peer-a');
    const resets = record(atB, ConnectionReset);
    const sdp = [
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=ice-ufrag:other',
      'a=fingerprint:sha-256 AN:OT:HE:R',
    ].join('\r\n');
    // Same fingerprint as the current connection: a renegotiation, nothing replaced.
    const current = pcOf(b, 'peer-a').remoteDescription?.sdp ?? '';
    expect(current).toMatch(/a=fingerprint/);
    const answers = (): number => room.directs('peer-b', 'peer-a').filter(isAnswer).length;
    const answersBefore = answers();
    room.sockets
      .get('peer-b')
      ?.at(-1)
      ?.deliver({
        type: 'direct',
        from: 'peer-a',
        data: { type: 'rtc-description', description: { type: 'offer', sdp } },
      });
    await until(() => resets.length === 1, 'reset on a new fingerprint');
    // The offer applies to the new connection, which answers it.
    await until(() => atB.pc.remoteDescription?.sdp === sdp, 'offer applied');
    await until(() => answers() === answersBefore + 1, 'answered');
    await Promise.all([a.close(), b.close()]);
  });

  it('candidates of an earlier connection are dropped', async () => {
    const { room, a, b } = await connectedCall();
    const pc = pcOf(b, 'peer-a');
    const before = pc.addedCandidates.length;
    room.sockets
      .get('peer-b')
      ?.at(-1)
      ?.deliver({
        type: 'direct',
        from: 'peer-a',
        data: {
          type: 'rtc-ice',
          candidate: { candidate: 'candidate:9 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' },
          connectionId: 'an-earlier-connection',
        },
      });
    await flush();
    expect(pc.addedCandidates.length).toBe(before);
    await Promise.all([a.close(), b.close()]);
  });
});
