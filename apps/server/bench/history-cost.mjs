#!/usr/bin/env node
// What channel history costs a publish, isolated from sockets: the broker's publish with history
// on and off, interleaved run by run, in this process.
//
//   memory broker  CPU time per publish to a channel with --subscribers subscribers (their
//                  deliver() only counts), history of 1,000 messages kept full
//   Redis          publishes per second through RedisBroker (one node, --window publishes in
//                  flight), the publish script with and without the history append
//
//   node apps/server/bench/history-cost.mjs [--publishes 200000] [--redis-publishes 20000]
//                                           [--subscribers 100] [--runs 5] [--window 64]
import { parseArgs } from 'node:util';
import { MemoryBroker, RedisBroker } from '../dist/index.js';
import { startRedis } from './redis.mjs';

const { values } = parseArgs({
  options: {
    publishes: { type: 'string', default: '200000' },
    'redis-publishes': { type: 'string', default: '20000' },
    subscribers: { type: 'string', default: '100' },
    runs: { type: 'string', default: '5' },
    window: { type: 'string', default: '64' },
  },
});
const PUBLISHES = Number(values.publishes);
const REDIS_PUBLISHES = Number(values['redis-publishes']);
const SUBSCRIBERS = Number(values.subscribers);
const RUNS = Number(values.runs);
const WINDOW = Number(values.window);
const APP = 'bench';
const HISTORY = { size: 1000, ttlMs: 300_000, maxBytes: 64 * 1024 * 1024, maxReplay: 1000 };
const DATA = { text: 'x'.repeat(64) };

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
const range = (values, digits) =>
  `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)} – ${Math.max(...values).toFixed(digits)})`;

function connection(index) {
  return {
    id: `c${index}`,
    appId: APP,
    peerId: `p${index}`,
    peerMetadata: undefined,
    visibleInPresence: false,
    delivered: 0,
    deliver() {
      this.delivered++;
    },
    close() {},
  };
}

function memoryRun(history) {
  const broker = new MemoryBroker();
  for (let index = 0; index < SUBSCRIBERS; index++) {
    const subscriber = connection(index);
    broker.attach(subscriber);
    broker.subscribe(subscriber, 'room', { includeSenderMetadata: false, beforeAnnounce() {} });
  }
  const message = {
    channel: 'room',
    from: 'publisher',
    data: DATA,
    fromMetadata: undefined,
    history,
  };
  const before = process.cpuUsage();
  for (let n = 0; n < PUBLISHES; n++) broker.publish(APP, message);
  const cpu = process.cpuUsage(before);
  broker.close();
  return ((cpu.user + cpu.system) * 1000) / PUBLISHES; // ns per publish
}

async function redisRun(broker, history) {
  const message = {
    channel: 'room',
    from: 'publisher',
    data: DATA,
    fromMetadata: undefined,
    history,
  };
  const start = performance.now();
  let sent = 0;
  const worker = async () => {
    while (sent < REDIS_PUBLISHES) {
      sent++;
      await broker.publish(APP, message);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
  return (REDIS_PUBLISHES / (performance.now() - start)) * 1000;
}

memoryRun(HISTORY);
memoryRun(undefined); // warm-up
const memory = { on: [], off: [] };
for (let run = 0; run < RUNS; run++) {
  memory.on.push(memoryRun(HISTORY));
  memory.off.push(memoryRun(undefined));
}

const redis = await startRedis();
const broker = new RedisBroker({ url: redis.url, keyPrefix: 'hc' });
await broker.waitUntilReady(5000);
const subscriber = connection(0);
await broker.attach(subscriber);
await broker.subscribe(subscriber, 'room', { includeSenderMetadata: false, beforeAnnounce() {} });
await redisRun(broker, HISTORY);
await redisRun(broker, undefined); // warm-up
const viaRedis = { on: [], off: [] };
for (let run = 0; run < RUNS; run++) {
  viaRedis.on.push(await redisRun(broker, HISTORY));
  viaRedis.off.push(await redisRun(broker, undefined));
}
await broker.close();
redis.stop();

const cost = (on, off) => `${(((median(on) - median(off)) / median(off)) * 100).toFixed(1)} %`;
process.stdout.write(
  [
    `History cost per publish, ${RUNS} interleaved runs each, median (min – max); payload {text: 64 × "x"}.`,
    '',
    '| broker | history on | history off | history costs |',
    '| --- | ---: | ---: | ---: |',
    `| memory: CPU ns per publish to ${SUBSCRIBERS} subscribers (${PUBLISHES} publishes) | ${range(memory.on, 0)} | ${range(memory.off, 0)} | ${cost(memory.on, memory.off)} |`,
    `| Redis: publishes/s, one node, ${WINDOW} in flight (${REDIS_PUBLISHES} publishes) | ${range(viaRedis.on, 0)} | ${range(viaRedis.off, 0)} | ${cost(viaRedis.off, viaRedis.on)} |`,
    '',
    `Command: \`${['node apps/server/bench/history-cost.mjs', ...process.argv.slice(2)].join(' ')}\``,
    '',
  ].join('\n'),
);
process.exit(0);
