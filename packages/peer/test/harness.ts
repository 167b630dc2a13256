import { vi } from 'vitest';
import {
  MeteredPeer,
  type EventClass,
  type MeteredPeerOptions,
  type PeerEvent,
} from '../src/index.js';
import type { FakePeerConnectionFactory, FakeRoom } from '../src/testing/index.js';

/** Runs timers due now and pending continuations, a bounded number of rounds. */
export async function flush(rounds = 30): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    await vi.advanceTimersByTimeAsync(0);
    await turn();
  }
}

/** Flushes until `condition()` holds; fails after a bounded number of rounds. */
export async function until(condition: () => boolean, what = 'condition'): Promise<void> {
  for (let round = 0; round < 200; round++) {
    if (condition()) return;
    await vi.advanceTimersByTimeAsync(0);
    await turn();
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A MeteredPeer on the room with fake peer connections and deterministic backoff. */
export function createPeer(
  room: FakeRoom,
  peerId: string,
  factory: FakePeerConnectionFactory,
  options: Partial<MeteredPeerOptions> = {},
): MeteredPeer {
  return new MeteredPeer({
    apiKey: 'pk_test',
    url: 'ws://localhost:8080',
    webSocketFactory: room.factory(peerId),
    rtcPeerConnectionFactory: factory,
    inactivityTimeoutMs: 0,
    random: () => 0.5,
    ...options,
  });
}

/** Collects every event of one class an emitter sends. */
export function record<T extends PeerEvent>(
  target: { on(type: EventClass<PeerEvent>, handler: (event: never) => void): () => void },
  type: EventClass<T>,
): T[] {
  const events: T[] = [];
  target.on(type, (event: T) => events.push(event));
  return events;
}

/**
 * Fake timers for every timeout and interval. `setImmediate` stays real: the signalling client
 * uses it only to let a settled request's continuations run before the next frame of a burst,
 * and {@link flush} yields to it explicitly.
 */
export function useFakeTimers(): void {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  });
}

/** One turn of the real event loop's check phase (the client's burst pause). */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
