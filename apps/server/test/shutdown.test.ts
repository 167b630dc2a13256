import { describe, expect, it } from 'vitest';
import { connect, connectWithKey, rest, startTestServer } from './helpers.js';
import { PUBLISHABLE_KEY } from './helpers.js';

describe('graceful shutdown', () => {
  it('sends going_away {retryAfterMs} then closes 1001, and resolves once drained', async () => {
    const server = await startTestServer({ shutdownRetryAfterMs: 2500 });
    const alice = await connectWithKey(server);
    const bob = await connectWithKey(server);
    await alice.request({ type: 'subscribe', channel: 'room' });
    await server.close();
    for (const client of [alice, bob]) {
      expect((await client.closed).code).toBe(1001);
      expect(client.frames.at(-1)).toEqual({ type: 'going_away', retryAfterMs: 2500 });
    }
  });

  it('tells every member going_away before any member hears another one leave', async () => {
    const server = await startTestServer();
    const members = [
      await connectWithKey(server),
      await connectWithKey(server),
      await connectWithKey(server),
    ];
    for (const member of members) await member.request({ type: 'subscribe', channel: 'room' });
    await server.close();
    for (const member of members) {
      expect((await member.closed).code).toBe(1001);
      const notice = member.frames.findIndex((frame) => frame.type === 'going_away');
      const firstLeft = member.frames.findIndex(
        (frame) => frame.type === 'presence' && (frame.left as unknown[]).length > 0,
      );
      expect(notice).toBeGreaterThanOrEqual(0);
      if (firstLeft >= 0) expect(notice).toBeLessThan(firstLeft);
    }
  });

  it('is idempotent and refuses new connections afterwards', async () => {
    const server = await startTestServer();
    const client = await connectWithKey(server);
    const first = server.close();
    const second = server.close();
    expect(second).toBe(first);
    await first;
    expect((await client.closed).code).toBe(1001);
    const late = connect(server, { key: PUBLISHABLE_KEY });
    await expect(late.opened).rejects.toThrow();
    await expect(rest(server, 'GET', '/healthz')).rejects.toThrow();
  });

  it('terminates sockets that do not finish the closing handshake within the drain timeout', async () => {
    const server = await startTestServer({ drainTimeoutMs: 200 });
    const client = await connectWithKey(server);
    const tcp = (client.socket as unknown as { _socket: { pause(): void } })._socket;
    tcp.pause();
    await server.close();
    client.terminate();
  });
});
