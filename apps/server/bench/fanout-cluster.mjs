#!/usr/bin/env node
// Channel fan-out throughput: one publisher, N subscribers, deliveries per second.
//
//   memory, 1 node   publisher and subscribers on one node, in-memory broker
//   redis, 1 node    the same on the Redis broker
//   redis, 2 nodes   publisher on node A, subscribers split between A and B
//
// Usage (after `pnpm --filter @metered/server build`, with redis-server installed):
//   node apps/server/bench/fanout-cluster.mjs [--subscribers 50] [--messages 200] [--runs 5]
//     [--scenarios memory,redis-1,redis-2]   (a subset, e.g. to profile one with --cpu-prof)
// Starts its own redis-server on a free loopback port. Prints a markdown table.
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { startServer } from '../dist/index.js';
import { startRedis } from './redis.mjs';

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '50' },
    messages: { type: 'string', default: '200' },
    runs: { type: 'string', default: '5' },
    'timeout-ms': { type: 'string', default: '60000' },
    scenarios: { type: 'string', default: 'memory,redis-1,redis-2' },
  },
});
const SUBSCRIBERS = Number(values.subscribers);
const MESSAGES = Number(values.messages);
const RUNS = Number(values.runs);
const RUN_TIMEOUT_MS = Number(values['timeout-ms']);
const SCENARIOS = new Set(values.scenarios.split(','));

const app = {
  id: 'bench',
  publishableKeys: [{ key: 'pk_bench' }],
  secretKeys: [{ id: 'sk_id_bench', secret: 'sk_secret_bench' }],
  plan: { maxConcurrentConnections: 100_000, maxMessagesPerPeriod: 1_000_000_000 },
  limits: {
    messagesPerSecond: 1_000_000,
    messageBurst: 1_000_000,
    connectAttemptsPerIpPerMinute: 100_000,
  },
};

/** Opens a client, waits for `welcome`, subscribes to `channel` and waits for the snapshot. */
function subscriber(url, channel, onMessage) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url}/v1?key=pk_bench`);
    socket.on('error', reject);
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString('utf8'));
      if (frame.type === 'welcome') {
        socket.send(JSON.stringify({ type: 'subscribe', channel, requestId: 's' }));
      } else if (frame.type === 'presence' && frame.left.length === 0 && !socket.ready) {
        socket.ready = true;
        resolve(socket);
      } else if (frame.type === 'message') onMessage();
    });
  });
}

async function runOnce(urls, channel) {
  let delivered = 0;
  const expected = SUBSCRIBERS * MESSAGES;
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  const onMessage = () => {
    delivered++;
    if (delivered === expected) finish();
  };
  const sockets = [];
  for (let index = 0; index < SUBSCRIBERS; index++) {
    sockets.push(await subscriber(urls[index % urls.length], channel, onMessage));
  }
  const publisher = await subscriber(urls[0], `${channel}-publisher`, () => undefined);
  const acked = new Promise((resolve) => {
    let acks = 0;
    publisher.on('message', (data) => {
      const frame = JSON.parse(data.toString('utf8'));
      if (frame.type === 'ack' && frame.requestId.startsWith('p') && ++acks === MESSAGES) resolve();
    });
  });
  const started = performance.now();
  for (let index = 0; index < MESSAGES; index++) {
    publisher.send(
      JSON.stringify({
        type: 'publish',
        channel,
        data: { index, text: 'x'.repeat(64) },
        requestId: `p${index}`,
      }),
    );
  }
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`run timed out: ${delivered}/${expected} delivered`)),
      RUN_TIMEOUT_MS,
    );
  });
  await Promise.race([Promise.all([done, acked]), timeout]);
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  for (const socket of [...sockets, publisher]) socket.terminate();
  return expected / seconds;
}

/** Starts a scenario's nodes; `run` measures one run on them. */
async function startScenario(name, brokers) {
  const servers = [];
  for (const broker of brokers) {
    servers.push(await startServer({ host: '127.0.0.1', port: 0, broker, apps: [app] }));
  }
  const urls = servers.map((server) => server.url);
  await runOnce(urls, 'warmup');
  return {
    name,
    rates: [],
    run: (index) => runOnce(urls, `room-${index}`),
    close: async () => {
      for (const server of servers) await server.close();
    },
  };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const redis = await startRedis();
const scenarios = [];
try {
  if (SCENARIOS.has('memory')) {
    scenarios.push(await startScenario('memory broker, 1 node', [{ kind: 'memory' }]));
  }
  if (SCENARIOS.has('redis-1')) {
    scenarios.push(
      await startScenario('redis broker, 1 node', [
        { kind: 'redis', url: redis.url, keyPrefix: 'bench-1' },
      ]),
    );
  }
  if (SCENARIOS.has('redis-2')) {
    scenarios.push(
      await startScenario('redis broker, 2 nodes (subscribers split A/B)', [
        { kind: 'redis', url: redis.url, keyPrefix: 'bench-2' },
        { kind: 'redis', url: redis.url, keyPrefix: 'bench-2' },
      ]),
    );
  }
  // Alternated: run `index` of every scenario, then the next, so that a change in the machine's
  // load falls on all of them; each run's rates are compared with the first scenario's.
  for (let index = 0; index < RUNS; index++) {
    for (const scenario of scenarios) scenario.rates.push(await scenario.run(index));
  }
} finally {
  for (const scenario of scenarios) await scenario.close();
  redis.stop();
}
const results = scenarios.map(({ name, rates }, row) => ({
  name,
  median: median(rates),
  min: Math.min(...rates),
  max: Math.max(...rates),
  ratios: rates.map((rate, index) => rate / scenarios[0].rates[index]),
  above: rates.map((rate, index) => rate / scenarios[Math.max(row - 1, 0)].rates[index]),
}));
const spread = (values) =>
  `${ratio(median(values))} (${ratio(Math.min(...values))} – ${ratio(Math.max(...values))})`;

const format = (rate) => Math.round(rate).toLocaleString('en-US');
const ratio = (value) => `${value.toFixed(2)}×`;
const cpu = cpus();
const lines = [
  `Channel fan-out, ${SUBSCRIBERS} subscribers × ${MESSAGES} messages per run, ${RUNS} runs of each scenario, alternated (after a warm-up run of each), all processes on one machine.`,
  '',
  `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, load average ${loadavg()
    .map((value) => value.toFixed(1))
    .join(' ')} at the end.`,
  '',
  `| scenario | deliveries/s (median) | min – max | × ${results[0]?.name ?? ''}, same run | × the row above, same run |`,
  '| --- | ---: | ---: | ---: | ---: |',
  ...results.map(
    (result) =>
      `| ${result.name} | ${format(result.median)} | ${format(result.min)} – ${format(result.max)} | ${spread(result.ratios)} | ${spread(result.above)} |`,
  ),
  '',
  'Ratios: median (min – max) over the runs, each run compared with the same run of the other scenario.',
];
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
