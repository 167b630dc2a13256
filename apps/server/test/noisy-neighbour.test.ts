import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../src/broker/redis/bus-shards.js';
import {
  AUTHORIZATION,
  PUBLISHABLE_KEY,
  TestClock,
  connect,
  rest,
  startTestServer,
  testApp,
  type TestClient,
} from './helpers.js';
import { eventually, startRedis, type RedisProcess } from './redis-server.js';

// One app publishing as fast as it can must not take the node (or the Redis bus) from the others.

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

function quietAppWithId(id: string) {
  return testApp({
    id,
    publishableKeys: [
      {
        key: 'pk_quiet',
        channelPatterns: ['**'],
        actions: ['subscribe', 'publish', 'presence', 'send'],
        allowedOrigins: [],
      },
    ],
    secretKeys: [],
  });
}

const quietApp = quietAppWithId('quiet');

async function publishMany(client: TestClient, count: number): Promise<string[]> {
  const outcomes: string[] = [];
  for (let index = 0; index < count; index++) {
    const reply = await client.request({
      type: 'publish',
      channel: 'feed',
      data: 'x'.repeat(1000),
    });
    outcomes.push(reply.type === 'ack' ? 'ack' : reply.code);
  }
  return outcomes;
}

describe('per-app publish bandwidth', () => {
  it('refuses an app’s publishes over its bytes per second, not another app’s, and refills', async () => {
    const clock = new TestClock();
    const server = await startTestServer({
      now: clock.now,
      apps: [testApp({ limits: { maxPublishBytesPerSecond: 4096 } }), quietApp],
    });
    const noisy = connect(server, { key: PUBLISHABLE_KEY });
    const quiet = connect(server, { key: 'pk_quiet' });
    await Promise.all([noisy.welcome(), quiet.welcome()]);

    const noisyOutcomes = await publishMany(noisy, 8);
    expect(noisyOutcomes.slice(0, 4)).toEqual(['ack', 'ack', 'ack', 'ack']);
    expect(noisyOutcomes.slice(4)).toEqual([
      'over_message_quota',
      'over_message_quota',
      'over_message_quota',
      'over_message_quota',
    ]);
    expect(await publishMany(quiet, 8)).toEqual(Array(8).fill('ack'));
    const refused = await rest(server, 'POST', '/v1/channels/feed/publish', {
      body: { data: 'x' },
      authorization: AUTHORIZATION,
    });
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe('over_message_quota');

    clock.advance(1000);
    expect(await publishMany(noisy, 1)).toEqual(['ack']);
    // The socket stayed open throughout.
    expect(noisy.socket.readyState).toBe(noisy.socket.OPEN);
  });
});

describe('a bus connection dropped by Redis', () => {
  it('closes only the sockets of the apps on that shard of the bus (here: a channel without history)', async () => {
    const busShards = 4;
    const noisyShard = shardOf('app1', busShards);
    const quietId = ['quiet', 'quiet-1', 'quiet-2', 'quiet-3', 'quiet-4'].find(
      (id) => shardOf(id, busShards) !== noisyShard,
    ) as string;
    const server = await startTestServer({
      // Without history, what the noisy app's subscriber missed cannot be made whole.
      apps: [testApp({ history: { size: 0 } }), quietAppWithId(quietId)],
      broker: {
        kind: 'redis',
        url: redis.url,
        keyPrefix: `shards-${randomUUID()}`,
        leaseMs: 10_000,
        busShards,
      },
    });
    const noisy = connect(server, { key: PUBLISHABLE_KEY });
    const quietSubscriber = connect(server, { key: 'pk_quiet' });
    const quietPublisher = connect(server, { key: 'pk_quiet' });
    await Promise.all([noisy.welcome(), quietSubscriber.welcome(), quietPublisher.welcome()]);
    expect(await quietSubscriber.request({ type: 'subscribe', channel: 'q' })).toMatchObject({
      type: 'ack',
    });
    expect(await noisy.request({ type: 'subscribe', channel: 'n' })).toMatchObject({
      type: 'ack',
    });

    // Redis drops the noisy app's bus connection, as it does when its output buffer overflows.
    const admin = new Redis(redis.url);
    try {
      const clients = String(await admin.call('CLIENT', 'LIST'));
      const line = clients
        .split('\n')
        .find((entry) => entry.includes(`name=metered-subscriber-${noisyShard} `));
      const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
      expect(id).toBeDefined();
      expect(await admin.call('CLIENT', 'KILL', 'ID', id as string)).toBe(1);
    } finally {
      admin.disconnect();
    }
    expect((await noisy.closed).code).toBe(1013);

    expect(
      await quietPublisher.request({ type: 'publish', channel: 'q', data: 'still here' }),
    ).toMatchObject({ type: 'ack' });
    expect((await quietSubscriber.waitFor((frame) => frame.type === 'message')).data).toBe(
      'still here',
    );
    expect(quietSubscriber.socket.readyState).toBe(quietSubscriber.socket.OPEN);

    // The shard is read again: the noisy app's clients come back.
    await eventually(async () => {
      const client = connect(server, { key: PUBLISHABLE_KEY });
      const outcome = await Promise.race([
        client.welcome().then(() => 'welcome'),
        client.closed.then(() => 'closed'),
      ]);
      return outcome === 'welcome';
    }, 'the noisy app welcomed again');
  });
});
