import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/index.js';
import { connectWithToken, startTestServer } from './helpers.js';
import { eventually, startRedis, type RedisProcess } from './redis-server.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

// Redis failing in ways that close no connection: silence, and a pause past the command timeout.

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const proxies: TcpProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

async function health(server: RunningServer): Promise<number> {
  const response = await fetch(`${server.url.replace(/^ws/, 'http')}/healthz`);
  await response.text();
  return response.status;
}

/** Resolves with `promise`, or fails after `ms` naming `what`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Redis silently unreachable (packets dropped, nothing closed)', () => {
  it('closes the sockets with 1013 and answers 503 within about a lease, then recovers', async () => {
    const leaseMs = 2_000;
    const proxy = await startTcpProxy(redis.port);
    proxies.push(proxy);
    const server = await startTestServer({
      broker: {
        kind: 'redis',
        url: `redis://127.0.0.1:${proxy.port}`,
        keyPrefix: `partition-${randomUUID()}`,
        leaseMs,
      },
    });
    const alice = await connectWithToken(server, 'alice');
    expect(await alice.request({ type: 'subscribe', channel: 'room' })).toMatchObject({
      type: 'ack',
    });
    expect(await health(server)).toBe(200);

    proxy.partition();
    const closed = await within(alice.closed, 3 * leaseMs, 'socket closed after the partition');
    expect(closed.code).toBe(1013);
    expect(await health(server)).toBe(503);

    proxy.heal();
    await eventually(async () => (await health(server)) === 200, 'ready after the heal', 20_000);
    const bob = await connectWithToken(server, 'bob');
    expect(await bob.request({ type: 'subscribe', channel: 'room' })).toMatchObject({
      type: 'ack',
    });
  });
});
