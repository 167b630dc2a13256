import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { BrokerUnavailableError, RedisBroker, type RunningServer } from '../src/index.js';
import { FakeConnection } from './broker-suite.js';
import { PUBLISHABLE_KEY, connect, connectWithToken, rest, startTestServer } from './helpers.js';
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

describe('Redis paused past the command timeout', () => {
  it('gives back the slots that refused connects took', async () => {
    const broker = new RedisBroker({
      url: redis.url,
      keyPrefix: `pause-${randomUUID()}`,
      commandTimeoutMs: 200,
    });
    expect(await broker.waitUntilReady(10_000)).toBe(true);
    const admin = new Redis(redis.url);
    try {
      const server = await startTestServer({ brokerImplementation: broker });
      expect(await admin.call('CLIENT', 'PAUSE', '1500', 'ALL')).toBe('OK');
      const refused = Array.from({ length: 10 }, () => connect(server, { key: PUBLISHABLE_KEY }));
      for (const client of refused) expect((await client.closed).code).toBe(1013);
      await eventually(
        async () => (await rest(server, 'GET', '/v1/usage')).body.concurrentNow === 0,
        'every slot given back once Redis answers again',
      );
      const alice = await connectWithToken(server, 'alice');
      expect(await alice.request({ type: 'subscribe', channel: 'room' })).toMatchObject({
        type: 'ack',
      });
      expect((await rest(server, 'GET', '/v1/usage')).body.concurrentNow).toBe(1);
    } finally {
      admin.disconnect();
      await broker.close();
    }
  });

  it('undoes an attach that timed out and gives its slot back', async () => {
    const broker = new RedisBroker({
      url: redis.url,
      keyPrefix: `pause-${randomUUID()}`,
      commandTimeoutMs: 200,
    });
    expect(await broker.waitUntilReady(10_000)).toBe(true);
    const admin = new Redis(redis.url);
    try {
      const connection = new FakeConnection('app1', 'alice');
      expect(await broker.acquireConnection('app1', 10)).toBe(true);
      expect(await admin.call('CLIENT', 'PAUSE', '1000', 'ALL')).toBe('OK');
      await expect(broker.attach(connection)).rejects.toBeInstanceOf(BrokerUnavailableError);
      await eventually(
        async () => (await broker.usage('app1', 0).catch(() => undefined))?.concurrentNow === 0,
        'the slot given back once Redis answers again',
      );
      // The late attach left nothing: a direct to alice reaches no one.
      expect(
        await broker.sendDirect('app1', {
          from: 'bob',
          to: 'alice',
          data: 1,
          fromMetadata: undefined,
        }),
      ).toBe(0);
    } finally {
      admin.disconnect();
      await broker.close();
    }
  });
});
