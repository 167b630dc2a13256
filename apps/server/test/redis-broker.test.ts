import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BrokerUnavailableError,
  ConfigError,
  RedisBroker,
  parseConfig,
  type BrokerConnection,
} from '../src/index.js';
import { describeBroker } from './broker-suite.js';
import { testApp } from './helpers.js';
import { startRedis, type RedisProcess } from './redis-server.js';

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describeBroker('redis', async () => {
  // A fresh key prefix per test: the nodes of one cluster share it, other tests do not.
  const keyPrefix = `test-${randomUUID()}`;
  const nodes = [0, 1].map(() => new RedisBroker({ url: redis.url, keyPrefix, leaseMs: 5_000 }));
  for (const node of nodes) {
    if (!(await node.waitUntilReady(10_000))) throw new Error('the Redis broker did not get ready');
  }
  return {
    nodes: [nodes[0] as RedisBroker, nodes[1] as RedisBroker],
    dispose: async () => {
      await Promise.all(nodes.map((node) => node.close()));
    },
  };
});

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('the Redis broker without Redis', () => {
  it('is not ready, refuses every call with BrokerUnavailableError and closes cleanly', async () => {
    const broker = new RedisBroker({ url: `redis://127.0.0.1:${await closedPort()}` });
    expect(await broker.waitUntilReady(200)).toBe(false);
    expect(broker.isReady()).toBe(false);
    await expect(broker.acquireConnection('app1', 10)).rejects.toBeInstanceOf(
      BrokerUnavailableError,
    );
    await expect(
      broker.publish('app1', { channel: 'c', from: 'a', data: 1, fromMetadata: undefined }),
    ).rejects.toBeInstanceOf(BrokerUnavailableError);
    const connection: BrokerConnection = {
      id: 'c1',
      appId: 'app1',
      peerId: 'alice',
      peerMetadata: undefined,
      visibleInPresence: true,
      deliver: () => undefined,
      close: () => undefined,
    };
    await expect(
      broker.subscribe(connection, 'c', {
        includeSenderMetadata: false,
        beforeAnnounce: () => undefined,
      }),
    ).rejects.toBeInstanceOf(BrokerUnavailableError);
    await broker.detach(connection);
    await Promise.all([broker.close(), broker.close()]);
  });
});

describe('broker configuration', () => {
  it('defaults the Redis broker fields and names a bad one', () => {
    const config = parseConfig({ broker: { kind: 'redis' }, apps: [testApp()] });
    expect(config.broker).toEqual({
      kind: 'redis',
      url: 'redis://127.0.0.1:6379',
      keyPrefix: 'metered',
      leaseMs: 15_000,
    });
    expect(() =>
      parseConfig({ broker: { kind: 'redis', url: 'http://x' }, apps: [testApp()] }),
    ).toThrow(ConfigError);
    expect(() =>
      parseConfig({ broker: { kind: 'redis', leaseMs: 10 }, apps: [testApp()] }),
    ).toThrow(/broker\.leaseMs/);
  });
});
