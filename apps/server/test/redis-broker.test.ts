import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { RedisBroker } from '../src/index.js';
import { describeBroker } from './broker-suite.js';
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
