#!/usr/bin/env node
// Noisy neighbour on the Redis bus: one app floods, another app's sockets must not notice.
//
// Two nodes A and B on one Redis, A in a child process. The noisy app has `--publishers` sockets
// on node A that publish `--size`-byte messages as fast as the server acks them (`--window` in
// flight per socket) for `--seconds`; every published byte crosses the bus to node B too. The
// quiet app has a subscriber and a publisher on node B, one small message every 20 ms. The run
// reports what the bus carried, what the noisy app got refused, and whether the quiet subscriber
// stayed connected (its close code otherwise) and how many quiet messages it missed. With
// `--noisy-subscribers`, it also reports how often Redis dropped node B's connection of the
// noisy app's shard, and what B's subscribers of the noisy channel got: messages received
// against those acked (the fewest of any subscriber; 0 extra = each offset once, in order), and
// how many of B's sockets were closed.
//
// Usage (after `pnpm --filter @metered/server build`, with redis-server installed):
//   node apps/server/bench/noisy-neighbour.mjs [--limit 1048576] [--publishers 8] [--size 32768]
//     [--window 16] [--seconds 5] [--pubsub-limit "32mb 8mb 60"] [--bus-shards 4]
//     [--noisy-subscribers 0] [--direct] [--kill-every 0]
// `--direct` publishes the noisy app's message events
// straight on its bus channel instead (as many nodes' worth of publishers would).
// `--noisy-subscribers` puts that many subscribers of the noisy channel on node B.
// `--kill-every <ms>` kills node B's connection of the noisy app's bus shard that often with
// `CLIENT KILL` during the flood, as Redis does when that connection's output buffer overflows.
// `--limit` sets the noisy app's `maxPublishBytesPerSecond` (omit: no limit). `--pubsub-limit`
// is Redis's `client-output-buffer-limit pubsub` (its default shown; a small one stands for a
// node that reads its bus more slowly than it fills). `--bus-shards 1` is the unsharded bus of
// earlier versions. The apps `noisy` and `quiet` fall on different shards of 4. Prints a
// markdown table.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import WebSocket from 'ws';
import { startServer } from '../dist/index.js';
import { startRedis } from './redis.mjs';

const { values } = parseArgs({
  options: {
    limit: { type: 'string' },
    publishers: { type: 'string', default: '8' },
    size: { type: 'string', default: '32768' },
    window: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '5' },
    'pubsub-limit': { type: 'string', default: '32mb 8mb 60' },
    'bus-shards': { type: 'string', default: '4' },
    'noisy-subscribers': { type: 'string', default: '0' },
    role: { type: 'string' },
    direct: { type: 'boolean', default: false },
    'kill-every': { type: 'string', default: '0' },
    redis: { type: 'string' },
  },
});
const LIMIT = values.limit === undefined ? undefined : Number(values.limit);
const PUBLISHERS = Number(values.publishers);
const SIZE = Number(values.size);
const WINDOW = Number(values.window);
const SECONDS = Number(values.seconds);
const BUS_SHARDS = Number(values['bus-shards']);
const NOISY_SUBSCRIBERS = Number(values['noisy-subscribers']);
const KILL_EVERY = Number(values['kill-every']);

const generous = {
  messagesPerSecond: 1_000_000,
  messageBurst: 1_000_000,
  connectAttemptsPerIpPerMinute: 100_000,
  maxMessageSize: Math.max(65_536, SIZE + 1024),
};
const plan = { maxConcurrentConnections: 100_000, maxMessagesPerPeriod: 1_000_000_000 };
const apps = [
  {
    id: 'noisy',
    publishableKeys: [{ key: 'pk_noisy' }],
    plan,
    limits: { ...generous, ...(LIMIT !== undefined && { maxPublishBytesPerSecond: LIMIT }) },
  },
  { id: 'quiet', publishableKeys: [{ key: 'pk_quiet' }], plan, limits: generous },
];

function open(server, key) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${server.url}/v1?key=${key}`);
    const client = { socket, closeCode: undefined, frames: [] };
    socket.on('close', (code) => (client.closeCode = code));
    socket.on('error', reject);
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString('utf8'));
      if (frame.type === 'welcome') resolve(client);
      client.onFrame?.(frame);
    });
  });
}

function brokerConfig(url) {
  return { kind: 'redis', url, keyPrefix: 'bench', leaseMs: 15_000, busShards: BUS_SHARDS };
}

/** The shard of an app, as the broker computes it (bus-shards.ts). */
function shardOf(appId) {
  let hash = 0;
  for (const byte of Buffer.from(appId, 'utf8')) hash = (hash * 31 + byte) % 65_536;
  return hash % BUS_SHARDS;
}

/**
 * `--direct`: message events for the noisy app published straight on its bus channel, as many
 * nodes' worth of publishers would, `--publishers` × `--window` per round trip.
 */
async function floodDirect(redisUrl) {
  const redis = new Redis(redisUrl);
  const channel = BUS_SHARDS === 1 ? 'bench:bus' : `bench:bus:${shardOf('noisy')}`;
  const event = JSON.stringify({ t: 'm', a: 'noisy', c: 'n', f: 'flood', d: 'x'.repeat(SIZE) });
  const deadline = Date.now() + SECONDS * 1000;
  let acked = 0;
  while (Date.now() < deadline) {
    const pipeline = redis.pipeline();
    for (let index = 0; index < PUBLISHERS * WINDOW; index++) pipeline.publish(channel, event);
    await pipeline.exec();
    acked += PUBLISHERS * WINDOW;
  }
  process.stdout.write(`${JSON.stringify({ acked, refused: 0 })}\n`);
  redis.disconnect();
}

/** Node A, in a process of its own: the noisy publishers. Prints `{acked, refused, closed}`. */
async function flood(redisUrl) {
  const a = await startServer({ host: '127.0.0.1', port: 0, broker: brokerConfig(redisUrl), apps });
  const noisy = await Promise.all(Array.from({ length: PUBLISHERS }, () => open(a, 'pk_noisy')));
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  const data = 'x'.repeat(SIZE);
  const deadline = Date.now() + SECONDS * 1000;
  let acked = 0;
  let refused = 0;
  for (const client of noisy) {
    let inFlight = 0;
    const pump = () => {
      while (inFlight < WINDOW && Date.now() < deadline && client.closeCode === undefined) {
        inFlight++;
        client.socket.send(JSON.stringify({ type: 'publish', channel: 'n', data, requestId: 'p' }));
      }
    };
    client.onFrame = (frame) => {
      if (frame.type === 'ack') acked++;
      else if (frame.type === 'error') refused++;
      else return;
      inFlight--;
      pump();
    };
    pump();
  }
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000 + 1000));
  const closed = noisy.find((client) => client.closeCode !== undefined)?.closeCode;
  process.stdout.write(`${JSON.stringify({ acked, refused, closed })}\n`);
  for (const client of noisy) client.socket.terminate();
  await a.close();
}

async function main() {
  const redis = await startRedis([
    '--client-output-buffer-limit',
    `pubsub ${values['pubsub-limit']}`,
  ]);
  // Node B's log tells how often Redis dropped one of its bus connections.
  const logged = { lost: 0, caughtUp: 0, givenUp: 0 };
  const logger = pino(
    { level: 'info' },
    {
      write(line) {
        if (line.includes('bus shard lost')) logged.lost++;
        if (line.includes('bus shard caught up')) logged.caughtUp++;
        if (line.includes('bus shard given up')) logged.givenUp++;
      },
    },
  );
  const b = await startServer({
    host: '127.0.0.1',
    port: 0,
    broker: brokerConfig(redis.url),
    apps,
    logger,
  });
  try {
    const quietSubscriber = await open(b, 'pk_quiet');
    let quietReceived = 0;
    await new Promise((resolve) => {
      quietSubscriber.onFrame = (frame) => {
        if (frame.type === 'ack') resolve();
        if (frame.type === 'message') quietReceived++;
      };
      quietSubscriber.socket.send(
        JSON.stringify({ type: 'subscribe', channel: 'q', requestId: 's' }),
      );
    });
    const quietPublisher = await open(b, 'pk_quiet');
    let quietAcked = 0;
    quietPublisher.onFrame = (frame) => {
      if (frame.type === 'ack') quietAcked++;
    };
    // Subscribers of the noisy channel on node B: its fan-out slows the reading of its bus.
    const noisySubscribers = await Promise.all(
      Array.from({ length: NOISY_SUBSCRIBERS }, async () => {
        const client = await open(b, 'pk_noisy');
        client.received = 0;
        client.extra = 0;
        client.lastOffset = 0;
        await new Promise((resolve) => {
          client.onFrame = (frame) => {
            if (frame.type === 'ack') resolve();
            if (frame.type !== 'message') return;
            // Each offset once, in order: anything else is counted as extra.
            if (frame.offset <= client.lastOffset) client.extra++;
            else client.received++;
            client.lastOffset = Math.max(client.lastOffset, frame.offset);
          };
          client.socket.send(JSON.stringify({ type: 'subscribe', channel: 'n', requestId: 's' }));
        });
        return client;
      }),
    );

    const child = spawn(
      process.execPath,
      [
        fileURLToPath(import.meta.url),
        ...process.argv.slice(2),
        '--role',
        'flood',
        '--redis',
        redis.url,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    let childReady;
    const ready = new Promise((resolve) => (childReady = resolve));
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('"ready"')) childReady();
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Node B's connection of the noisy shard: the one that is not node A's.
    const admin = new Redis(redis.url);
    const shardConnections = async () =>
      String(await admin.call('CLIENT', 'LIST'))
        .split('\n')
        .filter((line) => line.includes(`name=metered-subscriber-${shardOf('noisy')} `))
        .map((line) => /\bid=(\d+)/.exec(line)[1]);
    const nodeB = await shardConnections();
    let kills = 0;
    let killer;
    if (KILL_EVERY > 0) {
      await Promise.race([ready, exited]);
      const nodeA = (await shardConnections()).filter((id) => !nodeB.includes(id));
      killer = setInterval(async () => {
        for (const id of await shardConnections()) {
          if (nodeA.includes(id)) continue;
          if (Number(await admin.call('CLIENT', 'KILL', 'ID', id)) === 1) kills++;
        }
      }, KILL_EVERY);
    }
    const deadline = Date.now() + SECONDS * 1000 + 1000;
    let quietSent = 0;
    const ticker = setInterval(() => {
      if (Date.now() >= deadline) return;
      quietSent++;
      quietPublisher.socket.send(
        JSON.stringify({ type: 'publish', channel: 'q', data: quietSent, requestId: 'q' }),
      );
    }, 20);
    await exited;
    clearInterval(ticker);
    clearInterval(killer);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { acked, refused, closed } = JSON.parse(output.trim().split('\n').at(-1));

    admin.disconnect();
    const busMiB = (acked * SIZE) / 1024 / 1024;
    const row = [
      `${BUS_SHARDS}`,
      values['pubsub-limit'],
      LIMIT === undefined ? 'none' : `${(LIMIT / 1024).toFixed(0)} KiB/s`,
      `${values.direct ? 'straight to Redis, ' : ''}${PUBLISHERS} × ${WINDOW} × ${(SIZE / 1024).toFixed(0)} KiB, ${NOISY_SUBSCRIBERS} on B`,
      `${busMiB.toFixed(1)} MiB (${(busMiB / SECONDS).toFixed(1)} MiB/s)`,
      String(refused),
      quietSubscriber.closeCode === undefined ? 'open' : `closed ${quietSubscriber.closeCode}`,
      `${quietReceived}/${quietAcked} (sent ${quietSent})`,
      noisySubscribers.some((client) => client.closeCode !== undefined)
        ? `closed ${noisySubscribers.find((client) => client.closeCode !== undefined).closeCode}`
        : 'open',
      closed === undefined ? 'open' : `closed ${closed}`,
      `${logged.lost}${KILL_EVERY > 0 ? ` (${kills} killed)` : ''}, caught up ${logged.caughtUp}, given up ${logged.givenUp}`,
      NOISY_SUBSCRIBERS === 0
        ? '–'
        : `${Math.min(...noisySubscribers.map((client) => client.received))}/${acked}, ${noisySubscribers.reduce((sum, client) => sum + client.extra, 0)} extra`,
      `${[quietSubscriber, quietPublisher, ...noisySubscribers].filter((client) => client.closeCode !== undefined).length}/${2 + NOISY_SUBSCRIBERS}`,
    ];
    console.log(`| ${row.join(' | ')} |`);
    for (const client of [quietSubscriber, quietPublisher, ...noisySubscribers]) {
      client.socket.terminate();
    }
  } finally {
    await b.close();
    redis.stop();
  }
}

if (values.role === 'flood') {
  await (values.direct ? floodDirect(values.redis) : flood(values.redis));
  process.exit(0);
}
console.log(
  '| bus shards | Redis pubsub limit | noisy limit | noisy load | noisy bytes acked | noisy refused | quiet subscriber (node B) | quiet received/acked | noisy subscribers (B) | noisy publishers (A) | B lost the noisy shard | noisy received/acked (B) | B sockets closed |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
await main();
