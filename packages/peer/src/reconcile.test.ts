import { Connected } from '@metered/signalling';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPeer, flush, record, until, useFakeTimers } from '../test/harness.js';
import { FakeRoom } from './testing/index.js';
import {
  ConnectionReset,
  Data,
  FatalError,
  Left,
  PeerJoined,
  PeerLeft,
  StateChange,
  StreamAdded,
  StreamRemoved,
  Track,
  type MeteredPeer,
} from './index.js';
import {
  createFakePeerConnectionFactory,
  FakeMediaStream,
  FakeMediaStreamTrack,
  type FakeRTCPeerConnection,
} from './testing/index.js';

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

async function joinAll(peers: MeteredPeer[]): Promise<void> {
  for (const peer of peers) await peer.join('room-1');
  await until(
    () => peers.every((peer) => peer.remotePeers.size === peers.length - 1),
    'everyone sees everyone',
  );
}

describe('reconcile after a signalling reconnect', () => {
  it('survivors keep their RemotePeer with a new connection, absentees leave, newcomers join', async () => {
    const room = new FakeRoom();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(room, 'peer-a', pcs);
    const b = createPeer(room, 'peer-b', pcs);
    const c = createPeer(room, 'peer-c', pcs);
    await joinAll([a, b, c]);
    a.addTrack(new FakeMediaStreamTrack('audio', 'mic-a'), undefined, { role: 'mic' });
    await flush();
    const survivor = a.remotePeers.get('peer-b');
    const absentee = a.remotePeers.get('peer-c');
    if (!survivor || !absentee) throw new Error('members missing');
    const oldPc = survivor.pc;
    const resets = record(survivor, ConnectionReset);
    const left = record(a, PeerLeft);
    const joined = record(a, PeerJoined);
    const states = record(a, StateChange);

    const tracks: unknown[] = [];
    b.on(PeerJoined, (event) => {
      if (event.peer.id === 'peer-a') event.peer.on(Track, (track) => tracks.push(track.metadata));
    });

    room.drop('peer-a');
    await until(() => a.state === 'reconnecting', 'reconnecting');
    expect(survivor.state).toBe('reconnecting');
    // While a is away: c leaves, d arrives.
    await c.close();
    const d = createPeer(room, 'peer-d', pcs);
    await d.join('room-1');
    await advance(2_000);
    await until(() => a.state === 'joined', 'joined again');

    expect(states.map((event) => event.to)).toEqual(['reconnecting', 'joined']);
    // The absentee may only be late: it leaves when the deadline passes without it.
    expect(left).toEqual([]);
    await advance(10_000);
    expect(left.map((event) => event.peer)).toEqual([absentee]);
    expect(joined.map((event) => event.peer.id)).toEqual(['peer-d']);
    expect(a.remotePeers.get('peer-b')).toBe(survivor);
    expect(resets).toHaveLength(1);
    expect(survivor.pc).not.toBe(oldPc);
    expect((oldPc as { closed?: boolean }).closed).toBe(true);

    // The survivor's side saw a as a newcomer: the track and its metadata arrive again.
    await until(() => tracks.length === 1, 'track after reconcile');
    expect(tracks).toEqual([{ role: 'mic' }]);

    // Data flows again both ways.
    const atA = record(a, Data);
    await b.sendTo('peer-a', 'after');
    await until(() => atA.length === 1, 'data after reconcile');
    await Promise.all([a.close(), b.close(), d.close()]);
    await flush();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a reset announces the old connection's streams as removed and the new connection's as added", async () => {
    const room = new FakeRoom();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(room, 'peer-a', pcs);
    const b = createPeer(room, 'peer-b', pcs);
    await joinAll([a, b]);
    const remote = b.remotePeers.get('peer-a');
    if (!remote) throw new Error('member missing');
    const order: string[] = [];
    const added = record(remote, StreamAdded);
    const removed = record(remote, StreamRemoved);
    remote.on(StreamAdded, () => order.push('added'));
    remote.on(StreamRemoved, () => order.push('removed'));
    remote.on(ConnectionReset, () => order.push('reset'));
    a.addStream(new FakeMediaStream([new FakeMediaStreamTrack('video', 'cam-a')], 'stream-a'), {
      role: 'camera',
    });
    await until(() => added.length === 1, 'stream before the reconnect');
    const before = added[0]?.stream;

    room.drop('peer-b');
    await until(() => b.state === 'reconnecting', 'reconnecting');
    await advance(2_000);
    await until(() => b.state === 'joined', 'joined again');
    await until(() => added.length === 2, 'stream on the new connection');

    expect(removed.map((event) => event.stream)).toEqual([before]);
    expect(added[1]?.stream.id).toBe('stream-a');
    expect(added[1]?.stream).not.toBe(before);
    expect(added[1]?.metadata).toEqual({ role: 'camera' });
    expect(order).toEqual(['added', 'removed', 'reset', 'added']);
    await Promise.all([a.close(), b.close()]);
    await flush();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a server restart (everyone reconnects, rosters incomplete): every pair keeps its RemotePeer and its connected connection, and exchanges data again', async () => {
    const room = new FakeRoom();
    const pcs = createFakePeerConnectionFactory();
    const peers = ['peer-a', 'peer-b', 'peer-c'].map((id) => createPeer(room, id, pcs));
    await joinAll(peers);
    const before = new Map(peers.map((peer) => [peer, new Map(peer.remotePeers)]));
    const connections = new Map<unknown, unknown>();
    const resets: string[] = [];
    for (const peer of peers) {
      for (const remote of peer.remotePeers.values()) {
        (remote.pc as FakeRTCPeerConnection).setConnectionState('connected');
        connections.set(remote, remote.pc);
        remote.on(ConnectionReset, () => resets.push(`${peer.peerId}->${remote.id}`));
      }
    }
    room.restart();
    await advance(2_000);
    await until(
      () => peers.every((peer) => peer.state === 'joined' && peer.remotePeers.size === 2),
      'all joined, everyone seen',
    );
    // Members that were not back yet when a roster came were kept as late, not dropped: every
    // pair keeps its RemotePeer objects and, connected, its peer connection.
    for (const peer of peers) {
      for (const [id, remote] of peer.remotePeers) {
        expect(before.get(peer)?.get(id)).toBe(remote);
        expect(remote.pc).toBe(connections.get(remote));
        expect(remote.state).toBe('connected');
      }
    }
    await advance(10_000);
    expect(resets).toEqual([]);
    const received = peers.map((peer) => record(peer, Data));
    for (const peer of peers) await peer.send(`from ${peer.peerId}`);
    await until(() => received.every((list) => list.length === 2), 'broadcasts');
    await Promise.all(peers.map((peer) => peer.close()));
  });

  it('a survivor whose connection is not up gets a new one after a server restart', async () => {
    const room = new FakeRoom();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(room, 'peer-a', pcs);
    const b = createPeer(room, 'peer-b', pcs);
    await joinAll([a, b]);
    a.addTrack(new FakeMediaStreamTrack('audio', 'mic-a'));
    await until(() => a.remotePeers.get('peer-b')?.pc.remoteDescription != null, 'negotiated');
    const survivor = a.remotePeers.get('peer-b');
    if (!survivor) throw new Error('no remote');
    const old = survivor.pc;
    const resets = record(survivor, ConnectionReset);
    room.restart();
    await advance(2_000);
    await until(() => a.state === 'joined' && resets.length === 1, 'reset');
    expect(survivor.pc).not.toBe(old);
    await Promise.all([a.close(), b.close()]);
  });

  it('holds directs that arrive before the roster and applies them to the new connection', async () => {
    const room = new FakeRoom();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(room, 'peer-a', pcs);
    const b = createPeer(room, 'peer-b', pcs);
    await joinAll([a, b]);
    // a's roster is late: its resubscribe is not answered.
    room.ignoreSubscribes.set('peer-a', 1);
    room.restart();
    await advance(1_000);
    await until(() => b.state === 'joined' && room.isConnected('peer-a'), 'b back, a connected');
    expect(a.state).toBe('reconnecting');
    const data = record(a, Data);
    await b.sendTo('peer-a', 'early');
    await flush();
    expect(data).toHaveLength(0);
    await advance(10_000);
    await until(() => a.state === 'joined', 'a joined after its re-subscribe');
    expect(data.map((event) => event.data)).toEqual(['early']);
    await a.close();
    await b.close();
  });

  it('subscribes again when no roster comes within 10 s, at most twice, then gives up for good', async () => {
    const room = new FakeRoom();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(room, 'peer-a', pcs, { reconnect: { maxAttempts: 100 } });
    const b = createPeer(room, 'peer-b', pcs);
    await joinAll([a, b]);
    room.ignoreSubscribes.set('peer-a', 1_000);
    const fatal = record(a, FatalError);
    const left = record(a, Left);
    const welcomes: number[] = [];
    a.signalling.on(Connected, () => welcomes.push(Date.now()));
    room.drop('peer-a');
    await until(() => a.state === 'reconnecting', 'reconnecting');
    await advance(1_000);
    expect(welcomes).toHaveLength(1);
    const welcomeAt = welcomes[0] ?? 0;
    const subscribeTimes = (): number[] =>
      room.log
        .filter((entry) => entry.peerId === 'peer-a' && entry.frame.type === 'subscribe')
        .map((entry) => entry.at - welcomeAt);
    await advance(welcomeAt + 29_000 - Date.now());
    expect(a.state).toBe('reconnecting');
    expect(fatal).toHaveLength(0);
    // Our re-subscribes at 10 s and 20 s (the client's own replay retries may add others).
    expect(subscribeTimes().filter((at) => at === 10_000 || at === 20_000)).toHaveLength(2);
    await advance(2_000);
    expect(a.state).toBe('closed');
    expect(fatal).toHaveLength(1);
    expect(left).toHaveLength(1);
    await b.close();
    await flush();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('departures a shutting-down server reports after going_away wait for the next roster', async () => {
    const room = new FakeRoom();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(room, 'peer-a', pcs);
    const b = createPeer(room, 'peer-b', pcs);
    await joinAll([a, b]);
    const survivor = a.remotePeers.get('peer-b');
    if (!survivor) throw new Error('no remote');
    const resets = record(survivor, ConnectionReset);
    const left = record(a, PeerLeft);
    const socket = room.sockets.get('peer-a')?.at(-1);
    socket?.deliver(
      { type: 'going_away', retryAfterMs: 100 },
      { type: 'presence', channel: 'room-1', joined: [], left: [{ peerId: 'peer-b' }] },
    );
    await flush();
    expect(left).toEqual([]);
    room.restart();
    await advance(2_000);
    await until(() => a.state === 'joined', 'joined again');
    expect(a.remotePeers.get('peer-b')).toBe(survivor);
    await advance(10_000);
    expect(left).toEqual([]);
    // Nothing was negotiated on the connection: it is kept.
    expect(resets).toEqual([]);
    await a.close();
    await b.close();
  });

  it('a member announced as left after going_away leaves at the deadline when it never returns', async () => {
    const room = new FakeRoom();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(room, 'peer-a', pcs);
    const b = createPeer(room, 'peer-b', pcs);
    await joinAll([a, b]);
    const left = record(a, PeerLeft);
    room.sockets
      .get('peer-a')
      ?.at(-1)
      ?.deliver(
        { type: 'going_away', retryAfterMs: 100 },
        { type: 'presence', channel: 'room-1', joined: [], left: [{ peerId: 'peer-b' }] },
      );
    await flush();
    expect(left).toEqual([]);
    await advance(10_000);
    expect(left.map((event) => event.peer.id)).toEqual(['peer-b']);
    await a.close();
    await b.close();
    await flush();
    expect(vi.getTimerCount()).toBe(0);
  });
});
