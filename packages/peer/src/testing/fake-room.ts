import { FakeWebSocket } from '@metered/signalling/testing';

interface Member {
  readonly peerId: string;
  readonly socket: FakeWebSocket;
  readonly channels: Set<string>;
  readonly flags: Map<string, boolean>;
}

/** A frame as JSON: what a peer sent, or what the room delivers. */
export type FakeRoomFrame = Record<string, unknown>;

/**
 * A protocol v1 server in memory, for testing code built on `MeteredPeer` or `SignallingClient`
 * without a network: hand each client `room.factory(peerId)` as its `webSocketFactory`. The room
 * welcomes every socket with that peer id, answers `subscribe` with the ack and the roster in one
 * synchronous burst (as `ws` delivers one TCP read), relays `publish` to the other subscribers and
 * `send` to its target (`peer_not_found` when the target is offline), answers `ping`, and
 * announces joins and leaves. Every reply is delivered on a microtask after the client's send.
 * The test can drop a peer, restart the room, refuse or reject connections, leave subscribes
 * unanswered and drop directs, and reads back every frame a peer sent.
 */
export class FakeRoom {
  readonly #members = new Map<string, Member>();
  /** Subscribes left unanswered per peer id (to test the roster deadline). */
  readonly ignoreSubscribes = new Map<string, number>();
  /** Welcome fields per peer id. */
  readonly welcomeFields = new Map<string, Record<string, unknown>>();
  /** Every frame each peer sent, parsed. */
  readonly sent = new Map<string, FakeRoomFrame[]>();
  /** When set, the next connection attempt of this peer is closed with the code before the welcome. */
  readonly rejectNext = new Map<string, number>();
  /** Every socket each peer opened, in order. */
  readonly sockets = new Map<string, FakeWebSocket[]>();
  /** Peers whose every new connection is closed with 1006 before the welcome. */
  readonly refuse = new Set<string>();
  /** Directs for which this returns true are acked but not delivered. */
  dropDirect: ((from: string, to: string, data: unknown) => boolean) | undefined;
  /** Every frame sent, with the (fake) time it was routed. */
  readonly log: { readonly peerId: string; readonly frame: FakeRoomFrame; readonly at: number }[] =
    [];

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
        queueMicrotask(() => this.#route(peerId, socket, JSON.parse(data) as FakeRoomFrame));
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
  framesOf(peerId: string, type?: string): FakeRoomFrame[] {
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

  #route(peerId: string, socket: FakeWebSocket, frame: FakeRoomFrame): void {
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
