#!/usr/bin/env node
// The memory channel history takes per 1,000 channels, on both brokers: --channels channels each
// get --messages messages of a --payload-byte string (every channel's history full to that depth).
//
//   memory broker  heap after GC (node --expose-gc) with history minus the same without it,
//                  and what the broker counts against the app's `maxBytes`
//   Redis          `MEMORY USAGE` of every history key (the list and the epoch/offset hash),
//                  and the change of `INFO memory` used_memory over the publishes
//
//   node --expose-gc apps/server/bench/history-memory.mjs [--channels 1000] [--messages 100]
//                                                         [--payload 64]
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { MemoryBroker, RedisBroker } from '../dist/index.js';
import { startRedis } from './redis.mjs';

const { values } = parseArgs({
  options: {
    channels: { type: 'string', default: '1000' },
    messages: { type: 'string', default: '100,1000' },
    payload: { type: 'string', default: '64' },
  },
});
const CHANNELS = Number(values.channels);
const DEPTHS = values.messages.split(',').map(Number);
const PAYLOAD = 'x'.repeat(Number(values.payload));
const APP = 'bench';
const policy = (size) => ({ size, ttlMs: 3_600_000, maxBytes: 1e12, maxReplay: size });
const KIB = 1024;

if (typeof globalThis.gc !== 'function') {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}

function heap() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

function message(channel, n, history) {
  return {
    channel,
    from: 'publisher',
    data: { n, text: PAYLOAD },
    fromMetadata: undefined,
    history,
  };
}

async function memoryBroker(depth) {
  const measure = (history) => {
    const broker = new MemoryBroker();
    const before = heap();
    for (let c = 0; c < CHANNELS; c++) {
      for (let n = 0; n < depth; n++) broker.publish(APP, message(`ch-${c}`, n, history));
    }
    const after = heap();
    const counted = broker.historyBytes(APP);
    broker.close();
    return { heap: after - before, counted };
  };
  measure(policy(depth)); // warm-up
  const off = measure(undefined);
  const on = measure(policy(depth));
  return { heap: on.heap - off.heap, counted: on.counted };
}

async function redisBroker(depth) {
  const redis = await startRedis();
  const broker = new RedisBroker({ url: redis.url, keyPrefix: 'hm' });
  const client = new Redis(redis.url);
  try {
    await broker.waitUntilReady(5000);
    const usedMemory = async () => {
      const info = await client.info('memory');
      return Number(/used_memory:(\d+)/.exec(info)[1]);
    };
    const before = await usedMemory();
    for (let c = 0; c < CHANNELS; c++) {
      const batch = [];
      for (let n = 0; n < depth; n++)
        batch.push(broker.publish(APP, message(`ch-${c}`, n, policy(depth))));
      await Promise.all(batch);
    }
    const after = await usedMemory();
    let keys = 0;
    for (const pattern of ['hm:hl:*', 'hm:hm:*']) {
      let cursor = '0';
      do {
        const [next, found] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        for (const key of found) keys += Number(await client.memory('USAGE', key, 'SAMPLES', 0));
      } while (cursor !== '0');
    }
    return { keys, used: after - before };
  } finally {
    client.disconnect();
    await broker.close();
    redis.stop();
  }
}

const rows = [];
for (const depth of DEPTHS) {
  const memory = await memoryBroker(depth);
  const redis = await redisBroker(depth);
  const per1000 = (bytes) => `${(((bytes / CHANNELS) * 1000) / KIB / KIB).toFixed(2)} MiB`;
  rows.push(
    `| ${depth} | ${per1000(memory.heap)} | ${per1000(memory.counted)} | ${per1000(redis.keys)} | ${per1000(redis.used)} |`,
  );
}
const frame = JSON.stringify({
  type: 'message',
  channel: 'ch-0',
  from: 'publisher',
  data: { n: 0, text: PAYLOAD },
  offset: 1,
  epoch: 'x'.repeat(16),
});
process.stdout.write(
  [
    `History memory per 1,000 channels (${CHANNELS} channels measured), messages of ${PAYLOAD.length}-byte text (a ${frame.length}-byte message frame), every channel's history full to the depth given.`,
    '',
    '| messages per channel | memory broker: heap | memory broker: counted (`maxBytes`) | Redis: `MEMORY USAGE` of the keys | Redis: used_memory change |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `Command: \`${['node --expose-gc apps/server/bench/history-memory.mjs', ...process.argv.slice(2)].join(' ')}\``,
    '',
  ].join('\n'),
);
process.exit(0);
