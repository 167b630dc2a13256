import { FakeWebSocket } from '@metered/signalling/testing';
import { vi } from 'vitest';
import {
  MeteredPeer,
  type EventClass,
  type MeteredPeerOptions,
  type PeerEvent,
} from '../src/index.js';
import type { FakePeerConnectionFactory } from '../src/testing/index.js';

interface Member {
  readonly peerId: string;
  readonly socket: FakeWebSocket;
  readonly channels: Set<string>;
  readonly flags: Map<string, boolean>;
}

type Frame = Record<string, unknown>;

/**
 * A protocol v1 server in memory for unit tests, driven through FakeWebSocket: welcomes every
 * socket with a fixed peer id, answers subscribe with the ack and the roster in one synchronous
 * burst, relays publish/send, announces joins and leaves.
 */
export class FakeRoom {
  readonly #members = new Map<string, Member>();
  /** Subscribes left unanswered per peer id (to test the roster deadline). */
  readonly ignoreSubscribes = new Map<string, number>();
  /** Welcome fields per peer id. */
  readonly welcomeFields = new Map<string, Record<string, unknown>>();
  /** Every frame each peer sent, parsed. */
  readonly sent = new Map<string, Frame[]>();
  /** When set, the next connection attempt of this peer is closed with the code before the welcome. */
  readonly rejectNext = new Map<string, number>();
  readonly sockets = new Map<string, FakeWebSocket[]>();
  /** Peers whose every new connection is closed with 1006 before the welcome. */
  readonly refuse = new Set<string>();
  /** Directs for which this returns true are acked but not delivered. */
  dropDirect: ((from: string, to: string, data: unknown) => boolean) | undefined;
  /** Every frame sent, with the (fake) time it was routed. */
  readonly log: { readonly peerId: string; readonly frame: Frame; readonly at: number }[] = [];

  /** A `webSocketFactory` for the peer that the room will call `peerId`. */
  factory(peerId: string): (url: string) => FakeWebSocket {
    return (url) => {
      const socket = new FakeWebSocket(url);
      const list = this.sockets.get(peerId) ?? [];
      list.push(socket);
      this.sockets.set(peerId, list);
      const send = socket.send.bind(socket);
      socket.send = (data: string) => {
        send(data);
        queueMicrotask(() => this.#route(peerId, socket, JSON.parse(data) as Frame));
      };
      const close = socket.close.bind(socket);
      socket.close = (code?: number, reason?: string) => {
        close(code, reason);
        this.#leave(peerId, socket);
      };
      queueMicrotask(() => {
        const code = this.refuse.has(peerId) ? 1006 : this.rejectNext.get(peerId);
        if (code !== undefined) {
          this.rejectNext.delete(peerId);
          socket.open();
          socket.serverClose(code, this.refuse.has(peerId) ? '' : 'rejected');
          return;
        }
        if (socket.readyState !== FakeWebSocket.CONNECTING) return;
        socket.welcome({ peerId, ...this.welcomeFields.get(peerId) });
        this.#members.set(peerId, {
          peerId,
          socket,
          channels: new Set(),
          flags: new Map(),
        });
      });
      return socket;
    };
  }

  /** Frames of one type a peer sent. */
  framesOf(peerId: string, type?: string): Frame[] {
    return (this.sent.get(peerId) ?? []).filter(
      (frame) => type === undefined || frame.type === type,
    );
  }

  /** Direct payloads `from` sent to `to`. */
  directs(from: string, to: string): unknown[] {
    return this.framesOf(from, 'send')
      .filter((frame) => frame.to === to)
      .map((frame) => frame.data);
  }

  /** The server drops a peer's connection with `code`. */
  drop(peerId: string, code = 1006, reason = ''): void {
    const member = this.#members.get(peerId);
    if (!member) throw new Error(`${peerId} is not connected`);
    this.#leave(peerId, member.socket);
    member.socket.serverClose(code, reason);
  }

  /** Every connection closes at once (a server restart); members are forgotten silently. */
  restart(): void {
    const members = [...this.#members.values()];
    this.#members.clear();
    for (const member of members) member.socket.serverClose(1001, 'restart');
  }

  /** A peer id currently connected. */
  isConnected(peerId: string): boolean {
    return this.#members.has(peerId);
  }

  #leave(peerId: string, socket: FakeWebSocket): void {
    const member = this.#members.get(peerId);
    if (!member || member.socket !== socket) return;
    this.#members.delete(peerId);
    for (const channel of member.channels) this.#announce(channel, peerId, 'left');
  }

  #announce(channel: string, peerId: string, kind: 'joined' | 'left'): void {
    for (const other of this.#members.values()) {
      if (other.peerId === peerId || !other.channels.has(channel)) continue;
      other.socket.deliver({
        type: 'presence',
        channel,
        joined: kind === 'joined' ? [{ peerId }] : [],
        left: kind === 'left' ? [{ peerId }] : [],
      });
    }
  }

  #route(peerId: string, socket: FakeWebSocket, frame: Frame): void {
    const list = this.sent.get(peerId) ?? [];
    list.push(frame);
    this.sent.set(peerId, list);
    this.log.push({ peerId, frame, at: Date.now() });
    const member = this.#members.get(peerId);
    if (!member || member.socket !== socket || socket.readyState !== FakeWebSocket.OPEN) return;
    const requestId = frame.requestId as string;
    const ack = { type: 'ack', requestId };
    switch (frame.type) {
      case 'ping':
        socket.deliver({ type: 'pong' });
        return;
      case 'subscribe': {
        const channel = frame.channel as string;
        const ignored = this.ignoreSubscribes.get(peerId) ?? 0;
        if (ignored > 0) {
          this.ignoreSubscribes.set(peerId, ignored - 1);
          return;
        }
        const fresh = !member.channels.has(channel);
        member.channels.add(channel);
        member.flags.set(channel, frame.includeSenderMetadata === true);
        const roster = [...this.#members.values()]
          .filter((other) => other.peerId !== peerId && other.channels.has(channel))
          .map((other) => ({ peerId: other.peerId }));
        // One synchronous burst, as `ws` delivers one TCP read.
        socket.deliver(ack, { type: 'presence', channel, joined: roster, left: [] });
        if (fresh) this.#announce(channel, peerId, 'joined');
        return;
      }
      case 'unsubscribe':
        member.channels.delete(frame.channel as string);
        socket.deliver(ack);
        this.#announce(frame.channel as string, peerId, 'left');
        return;
      case 'publish': {
        const channel = frame.channel as string;
        socket.deliver(ack);
        for (const other of this.#members.values()) {
          if (other.peerId === peerId || !other.channels.has(channel)) continue;
          other.socket.deliver({
            type: 'message',
            channel,
            from: peerId,
            data: frame.data,
            ...(other.flags.get(channel) ? { fromMetadata: { name: peerId } } : {}),
          });
        }
        return;
      }
      case 'send': {
        const target = this.#members.get(frame.to as string);
        if (!target) {
          socket.deliver({ type: 'error', requestId, code: 'peer_not_found', message: 'gone' });
          return;
        }
        socket.deliver(ack);
        if (this.dropDirect?.(peerId, target.peerId, frame.data)) return;
        target.socket.deliver({ type: 'direct', from: peerId, data: frame.data });
        return;
      }
      default:
        return;
    }
  }
}

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
