import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../src/broker/redis/bus-shards.js';
import type { StartServerOptions } from '../src/server.js';
import { connectWithToken, startTestServer, testApp, type TestClient } from './helpers.js';
import { eventually, startRedis, type RedisProcess } from './redis-server.js';

// When Redis drops one shard's bus connection (output buffer overflow, CLIENT KILL), a node
// makes its sockets whole from the channels' history and the rosters in Redis once the shard is
// read again; only what cannot be made whole is closed with 1013.

const BUS_SHARDS = 4;
const SHARD = shardOf('app1', BUS_SHARDS);

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

async function startNodes(
  options: StartServerOptions = {},
  bounds: { busCatchUpMs?: number; busCatchUpBytes?: number } = {},
) {
  const broker = {
    kind: 'redis' as const,
    url: redis.url,
    keyPrefix: `bus-reconnect-${randomUUID()}`,
    leaseMs: 10_000,
    busShards: BUS_SHARDS,
    ...bounds,
  };
  const app = testApp({
    history: { channels: [{ pattern: 'plain/**', size: 0 }] },
    limits: { messagesPerSecond: 10_000, messageBurst: 10_000 },
  });
  const a = await startTestServer({ apps: [app], broker, ...options });
  const b = await startTestServer({ apps: [app], broker, ...options });
  return [a, b] as const;
}

/**
 * Kills the subscriber connections of the app's bus shard, as Redis does on an overflow: every
 * node's, or the first node's only (the nodes start one after the other: its id is the lowest).
 */
async function killShardConnections(
  nodes: 'all' | 'first' = 'all',
  through?: Redis,
): Promise<void> {
  const admin = through ?? new Redis(redis.url);
  try {
    const clients = String(await admin.call('CLIENT', 'LIST'));
    const ids = clients
      .split('\n')
      .filter((entry) => entry.includes(`name=metered-subscriber-${SHARD} `))
      .map((entry) => Number(/\bid=(\d+)/.exec(entry)?.[1]))
      .sort((x, y) => x - y);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of nodes === 'all' ? ids : ids.slice(0, 1)) {
      expect(await admin.call('CLIENT', 'KILL', 'ID', String(id))).toBe(1);
    }
  } finally {
    if (through === undefined) admin.disconnect();
  }
}

function stillOpen(client: TestClient): () => boolean {
  let closed = false;
  void client.closed.then(() => {
    closed = true;
  });
  return () => !closed && client.socket.readyState === client.socket.OPEN;
}

function messageData(client: TestClient, channel: string): unknown[] {
  return client.frames
    .filter((frame) => frame.type === 'message' && frame.channel === channel)
    .map((frame) => frame.data);
}

function presenceChanges(client: TestClient, channel: string): string[] {
  return client.frames
    .filter((frame) => frame.type === 'presence' && frame.channel === channel)
    .flatMap((frame) => [
      ...frame.left.map((member: { peerId: string }) => `-${member.peerId}`),
      ...frame.joined.map((member: { peerId: string }) => `+${member.peerId}`),
    ]);
}

describe('a bus connection dropped and read again', () => {
  it('keeps a subscriber of a channel with history: every acked message once, in order', async () => {
    const [a, b] = await startNodes();
    const subscriber = await connectWithToken(a, 'sub');
    const open = stillOpen(subscriber);
    const publisher = await connectWithToken(b, 'pub');
    expect(await subscriber.request({ type: 'subscribe', channel: 'feed' })).toMatchObject({
      type: 'ack',
    });

    const total = 300;
    const acked: number[] = [];
    for (let index = 0; index < total; index++) {
      if (index === 50) await killShardConnections();
      const reply = await publisher.request({ type: 'publish', channel: 'feed', data: index });
      expect(reply.type).toBe('ack');
      acked.push(index);
    }
    await eventually(
      () => messageData(subscriber, 'feed').includes(total - 1),
      'the last message at the subscriber',
    );
    // A message after the last: anything delivered twice would have arrived before it.
    expect(
      await publisher.request({ type: 'publish', channel: 'feed', data: 'end' }),
    ).toMatchObject({ type: 'ack' });
    await eventually(
      () => messageData(subscriber, 'feed').includes('end'),
      'the closing message at the subscriber',
    );
    expect(messageData(subscriber, 'feed')).toEqual([...acked, 'end']);
    const offsets = subscriber.ofType('message').map((frame) => frame.offset as number);
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    expect(new Set(offsets).size).toBe(offsets.length);
    expect(open()).toBe(true);
    expect(publisher.socket.readyState).toBe(publisher.socket.OPEN);
  });

  it('closes a subscriber of a channel without history with 1013, and only it', async () => {
    const [a, b] = await startNodes();
    const kept = await connectWithToken(a, 'kept');
    const plain = await connectWithToken(a, 'plain');
    const open = stillOpen(kept);
    const publisher = await connectWithToken(b, 'pub');
    await kept.request({ type: 'subscribe', channel: 'feed' });
    await plain.request({ type: 'subscribe', channel: 'plain/room' });

    await killShardConnections();
    expect(
      await publisher.request({ type: 'publish', channel: 'plain/room', data: 'lost?' }),
    ).toMatchObject({ type: 'ack' });
    expect((await plain.closed).code).toBe(1013);

    expect(
      await publisher.request({ type: 'publish', channel: 'feed', data: 'after' }),
    ).toMatchObject({ type: 'ack' });
    await eventually(() => messageData(kept, 'feed').includes('after'), 'the message at kept');
    expect(messageData(kept, 'feed')).toEqual(['after']);
    expect(open()).toBe(true);
  });

  it('tells a kept subscriber of the presence changes it missed, once', async () => {
    const [a, b] = await startNodes();
    const watcher = await connectWithToken(a, 'watcher');
    const open = stillOpen(watcher);
    const leaver = await connectWithToken(b, 'leaver');
    const publisher = await connectWithToken(b, 'pub');
    await leaver.request({ type: 'subscribe', channel: 'feed' });
    await watcher.request({ type: 'subscribe', channel: 'feed' });
    expect(presenceChanges(watcher, 'feed')).toEqual(['+leaver']);

    await killShardConnections('first');
    const joiner = await connectWithToken(b, 'joiner');
    await joiner.request({ type: 'subscribe', channel: 'feed' });
    await leaver.close();
    await eventually(
      () => presenceChanges(watcher, 'feed').length === 3,
      'the joiner and the leaver at the watcher',
    );
    // Everything the watcher was sent arrived before this message.
    expect(
      await publisher.request({ type: 'publish', channel: 'feed', data: 'end' }),
    ).toMatchObject({ type: 'ack' });
    await eventually(() => messageData(watcher, 'feed').includes('end'), 'the closing message');
    expect(presenceChanges(watcher, 'feed').sort()).toEqual(['+joiner', '+leaver', '-leaver']);
    expect(open()).toBe(true);
  });

  it('closes a socket whose direct was lost with the bus with 1013', async () => {
    const [a, b] = await startNodes();
    const target = await connectWithToken(a, 'target');
    const sender = await connectWithToken(b, 'sender');

    await killShardConnections();
    const reply = await sender.request({ type: 'send', to: 'target', data: 'hello' });
    expect(reply.type).toBe('ack');
    // Delivered (the shard was read again first) or the socket is closed: never acked and lost.
    const outcome = await Promise.race([
      target.waitFor((frame) => frame.type === 'direct').then(() => 'delivered'),
      target.closed.then((event) => `closed ${event.code}`),
    ]);
    expect(['delivered', 'closed 1013']).toContain(outcome);
  });

  it('gives a shard up when it is not read again within busCatchUpMs: 1013 as before', async () => {
    const [a] = await startNodes({}, { busCatchUpMs: 300 });
    const subscriber = await connectWithToken(a, 'sub');
    await subscriber.request({ type: 'subscribe', channel: 'feed' });
    await killShardConnections();
    // Redis answers nothing for longer than the bound: the shard cannot be read again in time.
    const admin = new Redis(redis.url);
    try {
      expect(await admin.call('CLIENT', 'PAUSE', '1500', 'ALL')).toBe('OK');
    } finally {
      admin.disconnect();
    }
    expect((await subscriber.closed).code).toBe(1013);
  });

  it('closes a subscriber whose missed messages pass busCatchUpBytes with 1013', async () => {
    const [a, b] = await startNodes({}, { busCatchUpBytes: 65_536 });
    const subscriber = await connectWithToken(a, 'sub');
    const publisher = await connectWithToken(b, 'pub');
    await subscriber.request({ type: 'subscribe', channel: 'feed' });
    const admin = new Redis(redis.url);
    try {
      // Node A cannot connect again until the messages are published: it misses them all.
      await killShardConnections('first', admin);
      const connected = String(await admin.call('CLIENT', 'LIST'))
        .trim()
        .split('\n').length;
      expect(await admin.call('CONFIG', 'SET', 'maxclients', String(connected))).toBe('OK');
      for (let index = 0; index < 10; index++) {
        const reply = await publisher.request({
          type: 'publish',
          channel: 'feed',
          data: 'x'.repeat(10_000),
        });
        expect(reply.type).toBe('ack');
      }
    } finally {
      await admin.call('CONFIG', 'SET', 'maxclients', '10000');
      admin.disconnect();
    }
    expect((await subscriber.closed).code).toBe(1013);
    expect(messageData(subscriber, 'feed')).toEqual([]);
  });
});
