import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPeer, flush, record, until, useFakeTimers } from '../test/harness.js';
import { FakeRoom } from './testing/index.js';
import {
  FatalError,
  Left,
  MeteredRealtimeError,
  PeerLeft,
  SignallingConnectError,
  StateChange,
  type MeteredPeer,
} from './index.js';
import { createFakePeerConnectionFactory, FakeMediaStreamTrack } from './testing/index.js';

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

function watch(peer: MeteredPeer) {
  return {
    fatal: record(peer, FatalError),
    left: record(peer, Left),
    peerLeft: record(peer, PeerLeft),
    states: record(peer, StateChange),
  };
}

describe('terminal signalling conditions', () => {
  it.each([4001, 4003, 4012, 4020])(
    'close code %i brings the peer to closed with FatalError and Left',
    async (code) => {
      const room = new FakeRoom();
      const pcs = createFakePeerConnectionFactory();
      const a = createPeer(room, 'peer-a', pcs);
      const b = createPeer(room, 'peer-b', pcs);
      await a.join('room-1');
      await b.join('room-1');
      await until(() => a.remotePeers.size === 1, 'discovery');
      a.addTrack(new FakeMediaStreamTrack());
      await flush();
      const events = watch(a);
      room.drop('peer-a', code, 'kicked');
      await until(() => a.state === 'closed', 'closed');
      expect(events.fatal).toHaveLength(1);
      expect(events.fatal[0]?.err).toBeInstanceOf(SignallingConnectError);
      expect(events.fatal[0]?.err).toMatchObject({ closeCode: code, closeReason: 'kicked' });
      expect(events.left).toEqual([
        expect.objectContaining({ peerId: 'peer-a', channel: 'room-1', reason: 'kicked' }),
      ]);
      expect(events.peerLeft).toHaveLength(1);
      expect(events.states.map((event) => event.to)).toEqual(['leaving', 'closed']);
      expect(pcs.instances.every((pc) => pc.closed)).toBe(true);
      await a.close();
      expect(events.left).toHaveLength(1);
      await b.close();
      await flush();
      expect(vi.getTimerCount()).toBe(0);
    },
  );

  it('reconnect attempts running out end in closed with FatalError and Left', async () => {
    const room = new FakeRoom();
    const a = createPeer(room, 'peer-a', createFakePeerConnectionFactory(), {
      reconnect: { maxAttempts: 3, initialDelayMs: 100, jitterRatio: 0 },
    });
    await a.join('room-1');
    const events = watch(a);
    room.refuse.add('peer-a');
    room.drop('peer-a');
    await until(() => a.state === 'reconnecting', 'reconnecting');
    await advance(10_000);
    expect(a.state).toBe('closed');
    expect(events.fatal).toHaveLength(1);
    expect(events.fatal[0]?.err).toBeInstanceOf(SignallingConnectError);
    expect(events.fatal[0]?.err).toMatchObject({ closeCode: 1006 });
    expect(events.left).toHaveLength(1);
    expect(events.left[0]?.reason).toMatch(/1006/);
    await flush();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a token provider stuck failing ends in closed with FatalError and Left', async () => {
    const room = new FakeRoom();
    let calls = 0;
    const a = createPeer(room, 'peer-a', createFakePeerConnectionFactory(), {
      apiKey: undefined,
      tokenProvider: () => {
        calls += 1;
        if (calls > 1) throw new Error('login expired');
        return 'token-1';
      },
      reconnect: { maxAttempts: 10, initialDelayMs: 100, jitterRatio: 0 },
    });
    await a.join('room-1');
    const events = watch(a);
    room.drop('peer-a');
    await advance(10_000);
    expect(calls).toBe(4);
    expect(a.state).toBe('closed');
    expect(events.fatal).toHaveLength(1);
    const err = events.fatal[0]?.err;
    expect(err).toBeInstanceOf(SignallingConnectError);
    expect((err as SignallingConnectError).cause).toBeInstanceOf(Error);
    expect(((err as SignallingConnectError).cause as Error).message).toBe('login expired');
    expect(events.left).toHaveLength(1);
    await flush();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a token provider that hangs ends the same way', async () => {
    const room = new FakeRoom();
    let calls = 0;
    const a = createPeer(room, 'peer-a', createFakePeerConnectionFactory(), {
      apiKey: undefined,
      tokenProvider: () => {
        calls += 1;
        return calls > 1 ? new Promise<string>(() => {}) : 'token-1';
      },
      tokenProviderTimeoutMs: 1_000,
      reconnect: { maxAttempts: 2, initialDelayMs: 100, jitterRatio: 0 },
    });
    await a.join('room-1');
    const events = watch(a);
    room.drop('peer-a');
    await advance(20_000);
    expect(a.state).toBe('closed');
    expect(events.fatal).toHaveLength(1);
    expect(events.fatal[0]?.err).toBeInstanceOf(MeteredRealtimeError);
    expect(events.left).toHaveLength(1);
    await flush();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a listener that throws does not break the peer', async () => {
    const room = new FakeRoom();
    const warnings: string[] = [];
    const a = createPeer(room, 'peer-a', createFakePeerConnectionFactory(), {
      logger: { warn: (message) => warnings.push(message) },
    });
    a.on(StateChange, () => {
      throw new Error('listener bug');
    });
    await a.join('room-1');
    expect(a.state).toBe('joined');
    expect(warnings.some((message) => message.includes('listener bug'))).toBe(true);
    await a.close();
  });
});
