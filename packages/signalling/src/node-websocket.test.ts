import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { Presence, SignallingClient } from './index.js';

// Real sockets, real timers: the client's default factory on Node (the global WebSocket where the
// runtime has one, else `ws` loaded on first use).
let server: WebSocketServer;
let url: string;
const requests: string[] = [];

beforeEach(async () => {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.on('connection', (socket: WebSocket, request) => {
    requests.push(request.url ?? '');
    socket.send(
      JSON.stringify({
        type: 'welcome',
        peerId: 'me',
        expiresAt: null,
        serverTime: Date.now(),
        maxMessageSize: 65_536,
      }),
    );
    socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { type: string; requestId: string };
      if (frame.type !== 'subscribe') return;
      // Both frames leave in one write: the client reads them in one burst.
      socket.send(JSON.stringify({ type: 'ack', requestId: frame.requestId }));
      socket.send(
        JSON.stringify({
          type: 'presence',
          channel: 'room',
          joined: [{ peerId: 'other' }],
          left: [],
        }),
      );
    });
  });
});

afterEach(async () => {
  for (const socket of server.clients) socket.terminate();
  server.close();
  await once(server, 'close');
});

describe('default WebSocket on Node', () => {
  it('connects, sees the snapshot after subscribe resolves, and closes cleanly', async () => {
    const client = new SignallingClient({ apiKey: 'pk test', url });
    await client.connect();
    expect(requests.at(-1)).toBe('/v1?key=pk%20test');
    await client.subscribe('room');
    // Registered only once subscribe() resolved: the snapshot read in the same burst still comes.
    const snapshot = await new Promise<Presence>((resolve) => client.once(Presence, resolve));
    expect(snapshot.joined.map((peer) => peer.peerId)).toEqual(['other']);
    const closed = once(server.clients.values().next().value as WebSocket, 'close');
    await client.close();
    expect(client.state).toBe('closed');
    const [code] = (await closed) as [number];
    expect(code).toBe(1000);
  });
});
