import { describe, expect, it } from 'vitest';
import { TestClient, connectWithToken, signTestToken, startTestServer } from './helpers.js';

describe('WebSocket-level heartbeat', () => {
  it('keeps sockets that answer pings', async () => {
    // Long enough that one event-loop turn (the pong's way back) never spans two beats.
    const server = await startTestServer({ heartbeatIntervalMs: 250 });
    const client = await connectWithToken(server, 'alice');
    let pings = 0;
    await new Promise<void>((resolve) =>
      client.socket.on('ping', () => {
        if (++pings === 3) resolve();
      }),
    );
    await client.sync();
    expect(client.socket.readyState).toBe(client.socket.OPEN);
  });

  it('drops a socket that stops answering, and its peer leaves presence', async () => {
    const server = await startTestServer({ heartbeatIntervalMs: 150 });
    const watcher = await connectWithToken(server, 'watcher');
    await watcher.request({ type: 'subscribe', channel: 'room' });
    const silent = new TestClient(
      `${server.url}/v1?token=${await signTestToken({ sub: 'silent' })}`,
      {
        autoPong: false,
      },
    );
    // Answers pings by hand until it has joined, then goes silent.
    let answering = true;
    silent.socket.on('ping', () => {
      if (answering) silent.socket.pong();
    });
    await silent.welcome();
    await silent.request({ type: 'subscribe', channel: 'room' });
    answering = false;
    expect((await silent.closed).code).toBe(1006);
    expect(
      await watcher.waitFor((frame) => frame.type === 'presence' && frame.left.length > 0),
    ).toMatchObject({ left: [{ peerId: 'silent' }] });
  });
});
