import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { Presence, SignallingClient } from '../index.js';
import {
  BrowserLikeWebSocket,
  createBrowserLikeWebSocketFactory,
  type NodeWebSocketLike,
} from './index.js';

/** A `ws` socket the test drives: `emit` stands for what `ws` emits for one TCP read. */
class ScriptedSocket extends EventEmitter implements NodeWebSocketLike {
  static last: ScriptedSocket | undefined;
  readyState = 0;
  readonly sent: string[] = [];
  terminated = false;
  constructor(readonly url: string) {
    super();
    ScriptedSocket.last = this;
  }
  override on(event: string, listener: (...args: never[]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {}
  terminate(): void {
    this.terminated = true;
  }
}

const servers: WebSocketServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(): Promise<{ server: WebSocketServer; url: string }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(server);
  await once(server, 'listening');
  return { server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function nextEvent(socket: BrowserLikeWebSocket, type: 'open' | 'message' | 'close') {
  return new Promise<Record<string, unknown>>((resolve) => {
    const listener = (event: unknown) => {
      socket.removeEventListener(type, listener);
      resolve(event as Record<string, unknown>);
    };
    socket.addEventListener(type, listener);
  });
}

describe('BrowserLikeWebSocket', () => {
  it('dispatches each frame of one read in its own task: microtasks of one run before the next', async () => {
    const socket = new BrowserLikeWebSocket('ws://scripted', ScriptedSocket);
    const order: string[] = [];
    socket.onmessage = (event) => {
      order.push(`handler ${String(event.data)}`);
      queueMicrotask(() => order.push(`microtask ${String(event.data)}`));
    };
    socket.addEventListener('message', (event) => {
      order.push(`listener ${String((event as { data: unknown }).data)}`);
    });
    const scripted = ScriptedSocket.last!;
    scripted.emit('message', Buffer.from('1'), false);
    scripted.emit('message', Buffer.from('2'), false);
    expect(order).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([
      'handler 1',
      'listener 1',
      'microtask 1',
      'handler 2',
      'listener 2',
      'microtask 2',
    ]);
  });

  it('delivers text as strings, binary as ArrayBuffer, and the close code and reason', async () => {
    const { server, url } = await listen();
    server.on('connection', (peer) => {
      peer.send('text');
      peer.send(new Uint8Array([1, 2, 3]));
      peer.close(4000, 'bye');
    });
    const factory = createBrowserLikeWebSocketFactory(WebSocket);
    const socket = factory(url);
    expect(factory.open.has(socket)).toBe(true);
    const messages: unknown[] = [];
    socket.addEventListener('message', (event) => messages.push((event as { data: unknown }).data));
    const closed = nextEvent(socket, 'close');
    await nextEvent(socket, 'open');
    expect(await closed).toMatchObject({ code: 4000, reason: 'bye', wasClean: true });
    expect(messages).toEqual(['text', new Uint8Array([1, 2, 3]).buffer]);
    expect(factory.open.size).toBe(0);
  });

  it('terminateAll drops every socket still open, with 1006', async () => {
    const { url } = await listen();
    const factory = createBrowserLikeWebSocketFactory(WebSocket);
    const sockets = [factory(url), factory(url)];
    await Promise.all(sockets.map((socket) => nextEvent(socket, 'open')));
    const closes = sockets.map((socket) => nextEvent(socket, 'close'));
    factory.terminateAll();
    expect((await Promise.all(closes)).map((event) => event.code)).toEqual([1006, 1006]);
    expect(factory.open.size).toBe(0);
  });

  it('runs the SignallingClient through its on… handlers', async () => {
    const { server, url } = await listen();
    server.on('connection', (peer) => {
      peer.send(
        JSON.stringify({
          type: 'welcome',
          peerId: 'me',
          expiresAt: null,
          serverTime: Date.now(),
          maxMessageSize: 65_536,
        }),
      );
      peer.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as { type: string; requestId: string };
        if (frame.type !== 'subscribe') return;
        // Ack and roster in one burst: the client must see them in order, each in its own task.
        peer.send(JSON.stringify({ type: 'ack', requestId: frame.requestId }));
        peer.send(
          JSON.stringify({
            type: 'presence',
            channel: 'room',
            joined: [{ peerId: 'a' }],
            left: [],
          }),
        );
      });
    });
    const client = new SignallingClient({
      apiKey: 'pk_test',
      url,
      webSocketFactory: createBrowserLikeWebSocketFactory(WebSocket),
    });
    const presences: Presence[] = [];
    client.on(Presence, (event) => presences.push(event));
    await client.connect();
    await client.subscribe('room');
    while (presences.length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(presences[0]?.joined).toEqual([{ peerId: 'a', metadata: null }]);
    await client.close();
  });
});
