import { Presence, type PresencePeer } from '@metered/signalling';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PeerJoined, PeerLeft } from './membership-events.js';
import { METERED_PEER_DEFAULTS } from './options.js';
import type { RemotePeer } from './remote-peer.js';
import { RosterReconciler, type RosterReconcilerHost } from './roster-reconciler.js';

/** What the reconciler touches of a remote peer. */
interface FakeRemote {
  readonly id: string;
  resets: number;
  closed: boolean;
}

function harness(): {
  reconciler: RosterReconciler;
  events: (PeerJoined | PeerLeft)[];
  rejoined: () => number;
} {
  const events: (PeerJoined | PeerLeft)[] = [];
  let rejoins = 0;
  const host: RosterReconcilerHost = {
    localPeerId: () => 'me',
    goingAway: () => false,
    createRemote: (member: PresencePeer) => {
      const remote: FakeRemote = { id: member.peerId, resets: 0, closed: false };
      return Object.assign(remote, {
        // A connection that is not up: a reconnect's reconcile replaces it.
        keepsConnection: () => false,
        connected: () => false,
        reset: () => void remote.resets++,
        close: () => void (remote.closed = true),
      }) as unknown as RemotePeer;
    },
    emit: (event) => events.push(event),
    rejoined: () => void rejoins++,
    releaseDirects: () => undefined,
    resubscribe: () => undefined,
    fatal: (error) => {
      throw error;
    },
    log: () => undefined,
  };
  return { reconciler: new RosterReconciler(host), events, rejoined: () => rejoins };
}

const presence = (joined: string[]): Presence =>
  new Presence({
    channel: 'room',
    joined: joined.map((peerId) => ({ peerId, metadata: null })),
    left: [],
  });

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('a roster split over several presence frames (a server keeps each under 1 MiB)', () => {
  it('after a reconnect, members named only by a later frame survive with their RemotePeer', () => {
    const { reconciler, events, rejoined } = harness();
    reconciler.apply(presence(['a', 'b', 'c', 'd']));
    const before = new Map(reconciler.remotes);
    events.length = 0;

    reconciler.start();
    reconciler.apply(presence(['a', 'b']));
    reconciler.apply(presence(['c', 'd', 'e']));
    vi.advanceTimersByTime(METERED_PEER_DEFAULTS.reconcileTimeoutMs * 2);

    expect([...reconciler.remotes.keys()].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    for (const [peerId, remote] of before) expect(reconciler.remotes.get(peerId)).toBe(remote);
    for (const remote of before.values()) {
      expect((remote as unknown as FakeRemote).resets).toBe(1);
      expect((remote as unknown as FakeRemote).closed).toBe(false);
    }
    expect(events.filter((event) => event instanceof PeerLeft)).toEqual([]);
    expect(events.map((event) => event.peer.id)).toEqual(['e']);
    expect(rejoined()).toBe(1);
  });

  it('on a first join, every frame of the roster adds its members', () => {
    const { reconciler, events } = harness();
    reconciler.apply(presence(['a', 'b']));
    reconciler.apply(presence(['c']));
    expect([...reconciler.remotes.keys()]).toEqual(['a', 'b', 'c']);
    expect(events.every((event) => event instanceof PeerJoined)).toBe(true);
  });

  it('members in no frame of the roster still leave at the deadline', () => {
    const { reconciler, events } = harness();
    reconciler.apply(presence(['a', 'b', 'c']));
    events.length = 0;
    reconciler.start();
    reconciler.apply(presence(['a']));
    reconciler.apply(presence(['b']));
    vi.advanceTimersByTime(METERED_PEER_DEFAULTS.reconcileTimeoutMs);
    expect([...reconciler.remotes.keys()]).toEqual(['a', 'b']);
    expect(
      events.filter((event) => event instanceof PeerLeft).map((event) => event.peer.id),
    ).toEqual(['c']);
  });
});
