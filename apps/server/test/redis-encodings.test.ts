import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type RunningServer } from '../src/index.js';
import { connectWithToken, rest, startTestServer, testApp } from './helpers.js';
import { startRedis, type RedisProcess } from './redis-server.js';

// Names as Redis sees them: keys are bytes, JavaScript strings are UTF-16.

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

async function redisNode(app = testApp()): Promise<RunningServer> {
  return startTestServer({
    apps: [app],
    broker: { kind: 'redis', url: redis.url, keyPrefix: `enc-${randomUUID()}`, leaseMs: 10_000 },
  });
}

describe('Redis key encodings', () => {
  it('finds the members and usage of an app whose id is not ASCII', async () => {
    const server = await redisNode(testApp({ id: 'café' }));
    const alice = await connectWithToken(server, 'alice');
    expect(await alice.request({ type: 'subscribe', channel: 'room' })).toMatchObject({
      type: 'ack',
    });
    const peers = await rest(server, 'GET', '/v1/channels/room/peers');
    expect(peers.body.peers).toEqual([{ peerId: 'alice' }]);
    const usage = await rest(server, 'GET', '/v1/usage');
    expect(usage.body).toMatchObject({ appId: 'café', concurrentNow: 1 });
  });

  it('refuses channel names with a lone surrogate, which have no UTF-8 form', async () => {
    const server = await redisNode();
    const alice = await connectWithToken(server, 'alice');
    const bob = await connectWithToken(server, 'bob');
    for (const [client, channel] of [
      [alice, 'room\uD800'],
      [bob, 'room\uDC00'],
    ] as const) {
      expect(await client.request({ type: 'subscribe', channel })).toMatchObject({
        type: 'error',
        code: 'invalid_channel',
      });
      expect(await client.request({ type: 'publish', channel, data: 1 })).toMatchObject({
        type: 'error',
        code: 'invalid_channel',
      });
    }
    expect(alice.ofType('presence')).toEqual([]);
    expect(bob.ofType('presence')).toEqual([]);
    // A well-formed name next to it still works.
    expect(await alice.request({ type: 'subscribe', channel: 'room\uD83D\uDE00' })).toMatchObject({
      type: 'ack',
    });
  });

  it('refuses an app id with a lone surrogate in the config', () => {
    expect(() => parseConfig({ apps: [testApp({ id: 'app\uD800' })] })).toThrow(ConfigError);
    expect(() => parseConfig({ apps: [testApp({ id: 'app\uD800' })] })).toThrow(/apps\[0\]\.id/);
  });
});
