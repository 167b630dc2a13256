#!/usr/bin/env node
// Noisy neighbour on the Redis bus: one app floods, another app's sockets must not notice.
//
// Two in-process nodes A and B on one Redis. The noisy app has `--publishers` sockets on node A
// that publish `--size`-byte messages as fast as the server acks them (`--window` in flight per
// socket) for `--seconds`; every published byte crosses the bus to node B too. The quiet app has
// a subscriber on node B and a publisher on node A sending one small message every 20 ms. The
// run reports what the bus carried, what the noisy app got refused, and whether the quiet
// subscriber stayed connected (its close code otherwise) and how many quiet messages it missed.
//
// Usage (after `pnpm --filter @metered/server build`, with redis-server installed):
//   node apps/server/bench/noisy-neighbour.mjs [--limit 1048576] [--publishers 8] [--size 32768]
//     [--window 16] [--seconds 5] [--pubsub-limit "32mb 8mb 60"] [--bus-shards 4]
// `--limit` sets the noisy app's `maxPublishBytesPerSecond` (omit: no limit). `--pubsub-limit`
// is Redis's `client-output-buffer-limit pubsub` (its default shown; a small one stands for a
// node that reads its bus more slowly than it fills). `--bus-shards 1` is the unsharded bus of
// earlier versions. The apps `noisy` and `quiet` fall on different shards of 4. Prints a
// markdown table.
import { parseArgs } from 'node:util';
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
  },
});
const LIMIT = values.limit === undefined ? undefined : Number(values.limit);
const PUBLISHERS = Number(values.publishers);
const SIZE = Number(values.size);
const WINDOW = Number(values.window);
const SECONDS = Number(values.seconds);
const BUS_SHARDS = Number(values['bus-shards']);

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

async function main() {
  const redis = await startRedis([
    '--client-output-buffer-limit',
    `pubsub ${values['pubsub-limit']}`,
  ]);
  const broker = {
    kind: 'redis',
    url: redis.url,
    keyPrefix: 'bench',
    leaseMs: 15_000,
    busShards: BUS_SHARDS,
  };
  const a = await startServer({ host: '127.0.0.1', port: 0, broker, apps });
  const b = await startServer({ host: '127.0.0.1', port: 0, broker, apps });
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
    const quietPublisher = await open(a, 'pk_quiet');
    let quietAcked = 0;
    quietPublisher.onFrame = (frame) => {
      if (frame.type === 'ack') quietAcked++;
    };
    const noisy = await Promise.all(Array.from({ length: PUBLISHERS }, () => open(a, 'pk_noisy')));

    const data = 'x'.repeat(SIZE);
    const deadline = Date.now() + SECONDS * 1000;
    let acked = 0;
    let refused = 0;
    for (const client of noisy) {
      let inFlight = 0;
      const pump = () => {
        while (inFlight < WINDOW && Date.now() < deadline && client.closeCode === undefined) {
          inFlight++;
          client.socket.send(
            JSON.stringify({ type: 'publish', channel: 'n', data, requestId: 'p' }),
          );
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
    let quietSent = 0;
    const ticker = setInterval(() => {
      if (Date.now() >= deadline) return;
      quietSent++;
      quietPublisher.socket.send(
        JSON.stringify({ type: 'publish', channel: 'q', data: quietSent, requestId: 'q' }),
      );
    }, 20);
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000 + 2000));
    clearInterval(ticker);

    const busMiB = (acked * SIZE) / 1024 / 1024;
    const row = [
      `${BUS_SHARDS}`,
      values['pubsub-limit'],
      LIMIT === undefined ? 'none' : `${(LIMIT / 1024).toFixed(0)} KiB/s`,
      `${PUBLISHERS} × ${WINDOW} × ${(SIZE / 1024).toFixed(0)} KiB`,
      `${busMiB.toFixed(1)} MiB (${(busMiB / SECONDS).toFixed(1)} MiB/s)`,
      String(refused),
      quietSubscriber.closeCode === undefined ? 'open' : `closed ${quietSubscriber.closeCode}`,
      `${quietReceived}/${quietAcked} (sent ${quietSent})`,
      noisy.some((client) => client.closeCode !== undefined)
        ? `closed ${noisy.find((client) => client.closeCode !== undefined).closeCode}`
        : 'open',
    ];
    console.log(`| ${row.join(' | ')} |`);
    for (const client of [quietSubscriber, quietPublisher, ...noisy]) client.socket.terminate();
  } finally {
    await a.close();
    await b.close();
    redis.stop();
  }
}

console.log(
  '| bus shards | Redis pubsub limit | noisy limit | noisy load | noisy bytes acked | noisy refused | quiet subscriber (node B) | quiet received/acked | noisy sockets |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
await main();
