import { encodePublish, encodeSend, utf8ByteLength } from '@metered/protocol';
import { createFakeWebSocketFactory } from '@metered/signalling/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPeer, flush, record, until, useFakeTimers } from '../test/harness.js';
import { FakeRoom } from './testing/index.js';
import {
  Data,
  Joined,
  Left,
  MeteredPeer,
  MeteredPeerOversizedError,
  MeteredPeerSendError,
  MeteredPeerStateError,
  PeerJoined,
  PeerLeft,
  StateChange,
} from './index.js';
import {
  createFakePeerConnectionFactory,
  FakeMediaStream,
  FakeMediaStreamTrack,
} from './testing/index.js';

beforeEach(() => {
  useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

async function joinedPair(room = new FakeRoom()) {
  const pcs = createFakePeerConnectionFactory();
  const a = createPeer(room, 'peer-a', pcs);
  const b = createPeer(room, 'peer-b', pcs);
  await a.join('room-1');
  await flush();
  await b.join('room-1');
  await until(() => a.remotePeers.has('peer-b') && b.remotePeers.has('peer-a'), 'discovery');
  return { room, pcs, a, b };
}

describe('MeteredPeer construction', () => {
  it('refuses autoResubscribe: false', () => {
    expect(
      () =>
        new MeteredPeer({
          apiKey: 'pk',
          autoResubscribe: false,
          rtcPeerConnectionFactory: createFakePeerConnectionFactory(),
        }),
    ).toThrow(TypeError);
  });

  it('needs a factory when the runtime has no RTCPeerConnection', () => {
    expect(() => new MeteredPeer({ apiKey: 'pk' })).toThrow(TypeError);
  });

  it('needs exactly one of apiKey and tokenProvider', () => {
    expect(
      () => new MeteredPeer({ rtcPeerConnectionFactory: createFakePeerConnectionFactory() }),
    ).toThrow(TypeError);
  });
});

describe('join', () => {
  it('sees the members already in the room when the ack and the roster arrive in one burst', async () => {
    const sockets = createFakeWebSocketFactory();
    const peer = new MeteredPeer({
      apiKey: 'pk',
      url: 'ws://localhost:8080',
      webSocketFactory: sockets,
      rtcPeerConnectionFactory: createFakePeerConnectionFactory(),
      inactivityTimeoutMs: 0,
    });
    const joined = record(peer, PeerJoined);
    const states = record(peer, StateChange);
    const joining = peer.join('room-1');
    await flush(2);
    sockets.last.welcome({ peerId: 'me' });
    await until(() => sockets.last.lastSent('subscribe') !== undefined, 'subscribe');
    const requestId = sockets.last.lastSent('subscribe')?.requestId as string;
    sockets.last.deliver(
      { type: 'ack', requestId },
      {
        type: 'presence',
        channel: 'room-1',
        joined: [
          { peerId: 'other-1' },
          { peerId: 'me' },
          { peerId: 'other-2', metadata: { n: 2 } },
        ],
        left: [],
      },
    );
    await joining;
    await flush();
    expect(peer.state).toBe('joined');
    expect(peer.channel).toBe('room-1');
    expect(peer.peerId).toBe('me');
    expect(joined.map((event) => event.peer.id)).toEqual(['other-1', 'other-2']);
    expect(peer.remotePeers.get('other-2')?.metadata).toEqual({ n: 2 });
    expect(states.map((event) => event.to)).toEqual(['joining', 'joined']);
    await peer.close();
  });

  it('also keeps a roster that arrives before the ack continuation in the same burst, raw order', async () => {
    const sockets = createFakeWebSocketFactory();
    const peer = new MeteredPeer({
      apiKey: 'pk',
      url: 'ws://localhost:8080',
      webSocketFactory: sockets,
      rtcPeerConnectionFactory: createFakePeerConnectionFactory(),
      inactivityTimeoutMs: 0,
    });
    const joining = peer.join('room-1');
    await flush(2);
    sockets.last.welcome({ peerId: 'me' });
    await until(() => sockets.last.lastSent('subscribe') !== undefined, 'subscribe');
    const requestId = sockets.last.lastSent('subscribe')?.requestId as string;
    // A presence, a direct from that member, then the ack, all in one read.
    sockets.last.deliver(
      { type: 'presence', channel: 'room-1', joined: [{ peerId: 'other-1' }], left: [] },
      { type: 'direct', from: 'other-1', data: { hello: 1 } },
      { type: 'ack', requestId },
    );
    const data = record(peer, Data);
    await joining;
    await flush();
    expect([...peer.remotePeers.keys()]).toEqual(['other-1']);
    expect(data.map((event) => event.data)).toEqual([{ hello: 1 }]);
    await peer.close();
  });

  it('emits Joined, and only from idle', async () => {
    const room = new FakeRoom();
    const peer = createPeer(room, 'peer-a', createFakePeerConnectionFactory());
    const joined = record(peer, Joined);
    await peer.join('room-1');
    expect(joined).toEqual([expect.objectContaining({ peerId: 'peer-a', channel: 'room-1' })]);
    const error = await peer.join('room-2').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MeteredPeerStateError);
    expect(error).toMatchObject({ code: 'invalid_state', method: 'join', currentState: 'joined' });
    await peer.close();
  });

  it('refuses a reserved channel with reserved_channel, and an invalid one with invalid_args', async () => {
    const peer = createPeer(new FakeRoom(), 'peer-a', createFakePeerConnectionFactory());
    for (const channel of ['_metered/x', '_Internal/y', '_SYSTEM/z']) {
      const error = await peer.join(channel).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(MeteredPeerSendError);
      expect(error).toMatchObject({ code: 'reserved_channel' });
    }
    for (const channel of ['', 'bad\nname', 'x'.repeat(257), 42, undefined]) {
      const error = await peer.join(channel as string).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(MeteredPeerSendError);
      expect(error).toMatchObject({ code: 'invalid_args' });
    }
    expect(peer.state).toBe('idle');
    await peer.close();
  });

  it('goes back to idle when the connection fails, and may join again', async () => {
    const room = new FakeRoom();
    room.rejectNext.set('peer-a', 4001);
    const peer = createPeer(room, 'peer-a', createFakePeerConnectionFactory());
    await expect(peer.join('room-1')).rejects.toMatchObject({ closeCode: 4001 });
    expect(peer.state).toBe('idle');
    await peer.join('room-1');
    expect(peer.state).toBe('joined');
    await peer.close();
  });

  it('refuses join after close', async () => {
    const peer = createPeer(new FakeRoom(), 'peer-a', createFakePeerConnectionFactory());
    await peer.close();
    await expect(peer.join('room-1')).rejects.toMatchObject({
      code: 'invalid_state',
      method: 'join',
      currentState: 'closed',
    });
  });
});

describe('discovery', () => {
  it('adds members from presence and removes them when they leave', async () => {
    const { room, a, b } = await joinedPair();
    const left = record(a, PeerLeft);
    const remote = a.remotePeers.get('peer-b');
    await b.close();
    await until(() => left.length === 1, 'peer left');
    expect(left[0]?.peer).toBe(remote);
    expect(remote?.state).toBe('closed');
    expect(a.remotePeers.size).toBe(0);
    expect(room.isConnected('peer-b')).toBe(false);
    await a.close();
  });

  it('ignores duplicate joins and presence of other channels', async () => {
    const sockets = createFakeWebSocketFactory();
    const peer = new MeteredPeer({
      apiKey: 'pk',
      url: 'ws://localhost:8080',
      webSocketFactory: sockets,
      rtcPeerConnectionFactory: createFakePeerConnectionFactory(),
      inactivityTimeoutMs: 0,
    });
    const joining = peer.join('room-1');
    await flush(2);
    sockets.last.welcome({ peerId: 'me' });
    await until(() => sockets.last.lastSent('subscribe') !== undefined, 'subscribe');
    sockets.last.ackLast('subscribe');
    await joining;
    const joined = record(peer, PeerJoined);
    sockets.last.deliver(
      { type: 'presence', channel: 'room-1', joined: [{ peerId: 'x' }, { peerId: 'x' }], left: [] },
      { type: 'presence', channel: 'room-2', joined: [{ peerId: 'y' }], left: [] },
      { type: 'presence', channel: 'room-1', joined: [{ peerId: 'x' }], left: [{ peerId: 'z' }] },
    );
    await flush();
    expect(joined.map((event) => event.peer.id)).toEqual(['x']);
    await peer.close();
  });

  it('tracks at most 256 remote peers', async () => {
    const sockets = createFakeWebSocketFactory();
    const peer = new MeteredPeer({
      apiKey: 'pk',
      url: 'ws://localhost:8080',
      webSocketFactory: sockets,
      rtcPeerConnectionFactory: createFakePeerConnectionFactory(),
      inactivityTimeoutMs: 0,
    });
    const joining = peer.join('room-1');
    await flush(2);
    sockets.last.welcome({ peerId: 'me' });
    await until(() => sockets.last.lastSent('subscribe') !== undefined, 'subscribe');
    const members = Array.from({ length: 300 }, (_, index) => ({ peerId: `m-${index}` }));
    sockets.last.deliver(
      { type: 'ack', requestId: sockets.last.lastSent('subscribe')?.requestId },
      { type: 'presence', channel: 'room-1', joined: members, left: [] },
    );
    await joining;
    await flush();
    expect(peer.remotePeers.size).toBe(256);
    await peer.close();
  });
});

describe('data', () => {
  it('delivers broadcasts and directs with their kind, never echoing own broadcasts', async () => {
    const { a, b } = await joinedPair();
    const atA = record(a, Data);
    const atB = record(b, Data);
    await a.send({ hello: 'all' });
    await a.sendTo('peer-b', 'just you');
    await b.remotePeers.get('peer-a')?.send(null);
    await until(() => atB.length === 2 && atA.length === 1, 'data');
    expect(atB.map(({ data, kind, senderPeerId }) => ({ data, kind, senderPeerId }))).toEqual([
      { data: { hello: 'all' }, kind: 'broadcast', senderPeerId: 'peer-a' },
      { data: 'just you', kind: 'direct', senderPeerId: 'peer-a' },
    ]);
    expect(atA.map(({ data, kind }) => ({ data, kind }))).toEqual([{ data: null, kind: 'direct' }]);
    await a.close();
    await b.close();
  });

  it('passes sender metadata when joined with includeSenderMetadata', async () => {
    const room = new FakeRoom();
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(room, 'peer-a', pcs);
    const b = createPeer(room, 'peer-b', pcs);
    await a.join('room-1');
    await b.join('room-1', { includeSenderMetadata: true });
    await until(() => a.remotePeers.has('peer-b'), 'discovery');
    const atB = record(b, Data);
    await a.send(1);
    await until(() => atB.length === 1, 'data');
    expect(atB[0]?.senderMetadata).toEqual({ name: 'peer-a' });
    await a.close();
    await b.close();
  });

  it('drops directs from peers that are not members', async () => {
    const sockets = createFakeWebSocketFactory();
    const peer = new MeteredPeer({
      apiKey: 'pk',
      url: 'ws://localhost:8080',
      webSocketFactory: sockets,
      rtcPeerConnectionFactory: createFakePeerConnectionFactory(),
      inactivityTimeoutMs: 0,
    });
    const joining = peer.join('room-1');
    await flush(2);
    sockets.last.welcome({ peerId: 'me' });
    await until(() => sockets.last.lastSent('subscribe') !== undefined, 'subscribe');
    sockets.last.deliver(
      { type: 'ack', requestId: sockets.last.lastSent('subscribe')?.requestId },
      { type: 'presence', channel: 'room-1', joined: [{ peerId: 'member' }], left: [] },
    );
    await joining;
    await flush();
    const data = record(peer, Data);
    sockets.last.deliver(
      { type: 'direct', from: 'stranger', data: 'x' },
      { type: 'direct', from: 'stranger', data: { type: 'rtc-ice', candidate: null } },
      { type: 'direct', from: 'member', data: 'y' },
      { type: 'message', channel: 'room-1', from: 'me', data: 'echo' },
      { type: 'message', channel: 'room-2', from: 'member', data: 'elsewhere' },
    );
    await flush();
    expect(data.map((event) => event.data)).toEqual(['y']);
    await peer.close();
  });
});

describe('send errors', () => {
  it('not_joined before join and after close', async () => {
    const peer = createPeer(new FakeRoom(), 'peer-a', createFakePeerConnectionFactory());
    await expect(peer.send(1)).rejects.toMatchObject({ code: 'not_joined' });
    await expect(peer.sendTo('peer-b', 1)).rejects.toMatchObject({ code: 'not_joined' });
    await peer.close();
    await expect(peer.send(1)).rejects.toBeInstanceOf(MeteredPeerSendError);
  });

  it('invalid_args for undefined data, unserialisable data and malformed peer ids', async () => {
    const { a, b } = await joinedPair();
    await expect(a.send(undefined)).rejects.toMatchObject({ code: 'invalid_args' });
    await expect(a.send(10n)).rejects.toMatchObject({ code: 'invalid_args' });
    await expect(a.sendTo('peer-b', undefined)).rejects.toMatchObject({ code: 'invalid_args' });
    await expect(a.sendTo('', 1)).rejects.toMatchObject({ code: 'invalid_args' });
    await expect(a.sendTo('bad\nid', 1)).rejects.toMatchObject({ code: 'invalid_args' });
    await expect(a.sendTo('x'.repeat(129), 1)).rejects.toMatchObject({ code: 'invalid_args' });
    await a.close();
    await b.close();
  });

  it('self_send for a direct to oneself', async () => {
    const { a, b } = await joinedPair();
    const error = await a.sendTo('peer-a', 1).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MeteredPeerSendError);
    expect(error).toMatchObject({ code: 'self_send', name: 'MeteredPeerSendError' });
    await a.close();
    await b.close();
  });

  it('oversized payloads fail before the wire, measured as the frame, against the welcome cap', async () => {
    const room = new FakeRoom();
    room.welcomeFields.set('peer-a', { maxMessageSize: 100 });
    const pcs = createFakePeerConnectionFactory();
    const a = createPeer(room, 'peer-a', pcs);
    const b = createPeer(room, 'peer-b', pcs);
    await a.join('room-1');
    await b.join('room-1');
    await until(() => a.remotePeers.has('peer-b'), 'discovery');
    const before = room.framesOf('peer-a').length;
    const requestId = '8c1f43a2-5d0e-4b7a-9f3c-2e6d1a0b9c8d';
    // 100 bytes of data: the frame around it is what goes over the cap.
    const data = 'x'.repeat(98);
    const error = await a.send(data).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MeteredPeerOversizedError);
    expect(error).toMatchObject({
      size: utf8ByteLength(encodePublish('room-1', data, requestId)),
      cap: 100,
    });
    await expect(a.sendTo('peer-b', data)).rejects.toMatchObject({
      size: utf8ByteLength(encodeSend('peer-b', data, requestId)),
      cap: 100,
    });
    await flush();
    expect(room.framesOf('peer-a').length).toBe(before);
    await a.close();
    await b.close();
  });
});

describe('media state errors', () => {
  it('add/remove/replace after close raise invalid_state with method and state', async () => {
    const peer = createPeer(new FakeRoom(), 'peer-a', createFakePeerConnectionFactory());
    const track = new FakeMediaStreamTrack();
    const stream = new FakeMediaStream([track]);
    await peer.join('room-1');
    peer.addTrack(track, stream);
    await peer.close();
    const cases: [string, () => unknown][] = [
      ['add_stream', () => peer.addStream(stream)],
      ['add_track', () => peer.addTrack(new FakeMediaStreamTrack())],
      ['remove_stream', () => peer.removeStream(stream)],
      ['remove_track', () => peer.removeTrack(track)],
    ];
    for (const [method, call] of cases) {
      let error: unknown;
      try {
        call();
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(MeteredPeerStateError);
      expect(error).toMatchObject({ code: 'invalid_state', method, currentState: 'closed' });
    }
    await expect(peer.replaceTrack(track, null)).rejects.toMatchObject({
      code: 'invalid_state',
      method: 'replace_track',
      currentState: 'closed',
    });
  });

  it('replaceTrack is refused while reconnecting', async () => {
    const { room, a, b } = await joinedPair();
    const track = new FakeMediaStreamTrack();
    a.addTrack(track);
    room.drop('peer-a');
    await until(() => a.state === 'reconnecting', 'reconnecting');
    await expect(a.replaceTrack(track, new FakeMediaStreamTrack())).rejects.toMatchObject({
      code: 'invalid_state',
      method: 'replace_track',
      currentState: 'reconnecting',
    });
    await a.close();
    await b.close();
  });

  it('track_already_attached for the same track with another stream; same stream is idempotent', async () => {
    const peer = createPeer(new FakeRoom(), 'peer-a', createFakePeerConnectionFactory());
    await peer.join('room-1');
    const track = new FakeMediaStreamTrack();
    const first = new FakeMediaStream([track]);
    const second = new FakeMediaStream([track]);
    peer.addTrack(track, first);
    peer.addTrack(track, first);
    expect(() => peer.addTrack(track, second)).toThrow(
      expect.objectContaining({ code: 'track_already_attached', method: 'add_track' }),
    );
    expect(() => peer.addStream(second)).toThrow(
      expect.objectContaining({ code: 'track_already_attached', method: 'add_stream' }),
    );
    expect(() => peer.addTrack(track)).toThrow(MeteredPeerStateError);
    await peer.close();
  });

  it('oversized track metadata is refused at addTrack/addStream and never tracked', async () => {
    const peer = createPeer(new FakeRoom(), 'peer-a', createFakePeerConnectionFactory());
    await peer.join('room-1');
    const track = new FakeMediaStreamTrack();
    const big = { blob: 'x'.repeat(70_000) };
    expect(() => peer.addTrack(track, undefined, big)).toThrow(MeteredPeerOversizedError);
    expect(() => peer.addStream(new FakeMediaStream([track]), big)).toThrow(
      expect.objectContaining({ cap: 65_536 }),
    );
    expect(peer.getTrackMetadata(track)).toBeNull();
    const stream = new FakeMediaStream([track]);
    peer.addStream(stream, { role: 'camera' });
    expect(peer.getTrackMetadata(track)).toEqual({ role: 'camera' });
    expect(peer.getStreamMetadata(stream)).toEqual({ role: 'camera' });
    await peer.close();
  });
});

describe('close', () => {
  it('is idempotent and terminal, emits Left once, and leaves no timers or listeners', async () => {
    const { room, pcs, a, b } = await joinedPair();
    a.addTrack(new FakeMediaStreamTrack('video'));
    await flush();
    const left = record(a, Left);
    const states = record(a, StateChange);
    const peerLeft = record(a, PeerLeft);
    const first = a.close('bye');
    const second = a.close();
    await Promise.all([first, second]);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatchObject({ peerId: 'peer-a', channel: 'room-1', reason: 'bye' });
    expect(states.map((event) => event.to)).toEqual(['leaving', 'closed']);
    expect(peerLeft).toHaveLength(1);
    expect(a.state).toBe('closed');
    await b.close();
    await flush();
    expect(pcs.instances.every((pc) => pc.closed && !pc.hasHandlers)).toBe(true);
    for (const socket of room.sockets.get('peer-a') ?? []) expect(socket.hasListeners).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('supports await using', async () => {
    const room = new FakeRoom();
    {
      await using peer = createPeer(room, 'peer-a', createFakePeerConnectionFactory());
      await peer.join('room-1');
    }
    await flush();
    expect(room.isConnected('peer-a')).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
