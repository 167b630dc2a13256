import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPeer, flush, record, until, useFakeTimers } from '../test/harness.js';
import { FakeRoom } from './testing/index.js';
import { ConnectionReset, NegotiationError, type MeteredPeer } from './index.js';
import {
  createFakePeerConnectionFactory,
  FakeMediaStreamTrack,
  type FakeRTCPeerConnection,
} from './testing/index.js';

beforeEach(() => {
  useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

function pcOf(peer: MeteredPeer, remoteId: string): FakeRTCPeerConnection {
  const remote = peer.remotePeers.get(remoteId);
  if (!remote) throw new Error(`${remoteId} unknown`);
  return remote.pc as FakeRTCPeerConnection;
}

function isOffer(data: unknown): boolean {
  const value = data as { type?: string; description?: { type?: string } };
  return value.type === 'rtc-description' && value.description?.type === 'offer';
}

async function negotiatedPair() {
  const room = new FakeRoom();
  const pcs = createFakePeerConnectionFactory();
  const a = createPeer(room, 'peer-a', pcs);
  const b = createPeer(room, 'peer-b', pcs);
  await a.join('room-1');
  await b.join('room-1');
  await until(() => a.remotePeers.has('peer-b') && b.remotePeers.has('peer-a'), 'discovery');
  a.addTrack(new FakeMediaStreamTrack());
  await until(
    () =>
      pcOf(b, 'peer-a').receivedTracks.size === 1 && pcOf(a, 'peer-b').signalingState === 'stable',
    'negotiated',
  );
  await flush();
  return { room, pcs, a, b };
}

/** Advances fake time in steps, letting every continuation run in between. */
async function advance(ms: number, step = 500): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += step) {
    await vi.advanceTimersByTimeAsync(Math.min(step, ms - elapsed));
    await flush(3);
  }
}

describe('ICE restart ladder', () => {
  it('restarts at 0, 1, 2, 4, 8, 16, 30, 30, 30 s after each 15 s answer timeout, reports exhaustion once, then replaces the connection', async () => {
    const { room, a, b } = await negotiatedPair();
    const remote = a.remotePeers.get('peer-b');
    if (!remote) throw new Error('no remote');
    const errors = record(remote, NegotiationError);
    const resets = record(remote, ConnectionReset);
    const failed = pcOf(a, 'peer-b');
    // Offers from a to b no longer get through: every restart waits for its answer in vain.
    room.dropDirect = (from, _to, data) => from === 'peer-a' && isOffer(data);
    const start = Date.now();
    const offersBefore = room.log.length;
    failed.setIceConnectionState('failed');
    await advance(300_000);
    const offerTimes = room.log
      .slice(offersBefore)
      .filter((entry) => entry.peerId === 'peer-a' && isOffer(entry.frame.data))
      .map((entry) => entry.at - start);
    // Nine restarts; the last one's answer timeout ends the ladder, and the new connection offers.
    expect(offerTimes).toEqual([
      0, 16_000, 33_000, 52_000, 75_000, 106_000, 151_000, 196_000, 241_000, 256_000,
    ]);
    expect(errors).toHaveLength(1);
    expect((errors[0]?.err as Error).message).toMatch(/exhausted/);
    // Restart offers ask for fresh ICE credentials; the failed connection is closed and replaced.
    expect(failed.offerOptions.at(-1)).toEqual({ iceRestart: true });
    expect(resets).toHaveLength(1);
    expect(remote.pc).not.toBe(failed);
    expect(failed.closed).toBe(true);
    // The new connection negotiates with b once offers get through again.
    room.dropDirect = undefined;
    const replacement = pcOf(a, 'peer-b');
    replacement.setIceConnectionState('failed');
    await advance(20_000);
    expect(replacement.remoteDescription?.type).toBe('answer');
    await a.close();
    await b.close();
    await flush();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a restart answered in time and a connection that recovers stop the ladder', async () => {
    const { room, a, b } = await negotiatedPair();
    const remote = a.remotePeers.get('peer-b');
    if (!remote) throw new Error('no remote');
    const errors = record(remote, NegotiationError);
    const start = room.log.length;
    const pc = pcOf(a, 'peer-b');
    pc.setIceConnectionState('failed');
    await flush();
    // The restart offer was answered: no further attempt while ICE checks.
    expect(pc.signalingState).toBe('stable');
    pc.setIceConnectionState('checking');
    pc.setIceConnectionState('connected');
    await advance(120_000, 5_000);
    const offers = room.log
      .slice(start)
      .filter((entry) => entry.peerId === 'peer-a' && isOffer(entry.frame.data));
    expect(offers).toHaveLength(1);
    expect(errors).toEqual([]);
    // After recovering, a later failure starts a fresh ladder.
    pc.setIceConnectionState('failed');
    await flush();
    expect(
      room.log
        .slice(start)
        .filter((entry) => entry.peerId === 'peer-a' && isOffer(entry.frame.data)),
    ).toHaveLength(2);
    await a.close();
    await b.close();
    await flush();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('close during the ladder leaves no timer', async () => {
    const { room, a, b } = await negotiatedPair();
    room.dropDirect = (from, _to, data) => from === 'peer-a' && isOffer(data);
    pcOf(a, 'peer-b').setIceConnectionState('failed');
    await advance(20_000);
    await a.close();
    await b.close();
    await flush();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('refreshed ICE servers', () => {
  it('after a reconnect welcome with new iceServers, every connection in use has them: the survivor’s new one and a new member’s', async () => {
    const { room, pcs, a, b } = await negotiatedPair();
    const before = pcOf(a, 'peer-b');
    expect(before.config).toEqual({});
    const iceServers = [{ urls: 'turn:turn.example.com:3478', username: 'u', credential: 'c' }];
    room.welcomeFields.set('peer-a', { metadata: { iceServers } });
    room.drop('peer-a');
    await until(() => a.state === 'reconnecting', 'reconnecting');
    await advance(2_000);
    await until(() => a.state === 'joined', 'joined');
    const survivor = pcOf(a, 'peer-b');
    expect(survivor).not.toBe(before);
    expect(before.closed).toBe(true);
    expect(survivor.config).toEqual({ iceServers });
    const c = createPeer(room, 'peer-c', pcs);
    await c.join('room-1');
    await until(() => a.remotePeers.has('peer-c'), 'the new member');
    expect(pcOf(a, 'peer-c').config).toEqual({ iceServers });
    await Promise.all([a.close(), b.close(), c.close()]);
  });
});
