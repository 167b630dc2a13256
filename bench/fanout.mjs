#!/usr/bin/env node
// Channel fan-out: one publisher, N subscribers on one channel, receivers in another process.
// Compares our server with a raw `ws` server (one send per socket, and with batched writes) and
// a Socket.IO 4 room broadcast, each server in a process of its own, all on 127.0.0.1.
//
//   node bench/fanout.mjs [--quick] [--subscribers 1000] [--duration-ms 3000] [--window 64]
//                         [--runs 5] [--paced 40]
//                         [--servers raw,socketio,metered,metered-history-off,raw-batched]
//   METERED_BASELINE_MODULE=<another build>/dist/index.js adds that build as a row.
//
// Per run the publisher publishes for --duration-ms, keeping --window publishes unacknowledged;
// the run ends when every subscriber has every message. deliveries/s = messages × subscribers ÷
// (first publish → last delivery). Server CPU per delivery = the server process's user+system
// CPU time over the run ÷ deliveries. Latency: publish → delivery of messages stamped with the
// publisher's monotonic clock, under that load, and paced (--paced messages, one per --paced-interval-ms).
import { fileURLToPath } from 'node:url';
import {
  commandLine,
  forkChild,
  formatNumber,
  formatRatio,
  formatSummary,
  log,
  machineLine,
  markdownTable,
  nowMicros,
  options,
  procCpuMs,
  summary,
  until,
} from './lib/common.mjs';
import {
  Publisher,
  SERVER_LABELS,
  defaultKinds,
  serverCpuMicros,
  startBenchServer,
  stopBenchServer,
} from './lib/bench-servers.mjs';

const opts = options(
  {
    subscribers: [1000, 200],
    'duration-ms': [3000, 1000],
    window: [64, 64],
    runs: [5, 2],
    paced: [40, 20],
    'paced-interval-ms': [100, 100],
  },
  { servers: { type: 'string' } },
);
const KINDS =
  opts.servers?.split(',') ??
  defaultKinds('raw,socketio,metered,metered-history-off,raw-batched'.split(','));
const RECEIVERS = fileURLToPath(new URL('lib/receivers.mjs', import.meta.url));

async function measure(kind) {
  log(`${kind}: starting`);
  const server = await startBenchServer(kind);
  const receivers = forkChild(RECEIVERS);
  let publisher;
  try {
    await receivers.waitFor((message) => message?.ready, 15_000, 'receivers');
    await receivers.call('connect', {
      kind,
      base: server.base,
      count: opts.subscribers,
      channel: 'fan',
    });
    publisher = new Publisher(kind, server.base);
    await publisher.ready;

    const run = async (durationMs) => {
      await receivers.call('arm', { target: -1, sampleStride: 16 });
      const cpuBefore = await serverCpuMicros(server);
      const receiverCpuBefore = procCpuMs(receivers.pid);
      const start = nowMicros();
      const published = await publisher.publishFor(durationMs, opts.window);
      const target = published * opts.subscribers;
      const stats = await until(
        async () => {
          const current = await receivers.call('stats');
          return current.delivered >= target ? current : undefined;
        },
        120_000,
        `${kind}: ${target} deliveries`,
        5,
      );
      const elapsedMicros = stats.lastAt - start;
      const cpu = (await serverCpuMicros(server)) - cpuBefore;
      const receiverCpu = (procCpuMs(receivers.pid) - receiverCpuBefore) * 1000;
      return {
        rate: (target / elapsedMicros) * 1e6,
        cpuPerDelivery: cpu / target,
        serverCpuShare: cpu / elapsedMicros,
        receiverCpuShare: receiverCpu / elapsedMicros,
        p50: stats.p50,
        p99: stats.p99,
      };
    };

    await run(Math.min(1000, opts['duration-ms'])); // warm-up
    const runs = [];
    for (let index = 0; index < opts.runs; index++) {
      const result = await run(opts['duration-ms']);
      log(
        `${kind}: run ${index + 1}: ${formatNumber(result.rate)} deliveries/s, ` +
          `${formatNumber(result.cpuPerDelivery, 2)} µs CPU/delivery`,
      );
      runs.push(result);
    }

    // Paced: one publish per --paced-interval-ms, far below saturation.
    await receivers.call('arm', { target: -1, sampleStride: 1 });
    await publisher.publishPaced(opts.paced, opts['paced-interval-ms']);
    const pacedTarget = opts.paced * opts.subscribers;
    const paced = await until(
      async () => {
        const current = await receivers.call('stats');
        return current.delivered >= pacedTarget ? current : undefined;
      },
      60_000,
      `${kind}: paced deliveries`,
      20,
    );
    return { kind, runs, paced };
  } finally {
    publisher?.close();
    await receivers.call('close', {}, 10_000).catch(() => undefined);
    await receivers.stop(2000);
    await stopBenchServer(server);
  }
}

const startLoad = machineLine();
const results = [];
for (const kind of KINDS) results.push(await measure(kind));

const raw = results.find((result) => result.kind === 'raw');
const rawRate = raw ? summary(raw.runs.map((run) => run.rate)).median : NaN;
const socketio = results.find((result) => result.kind === 'socketio');
const socketioRate = socketio ? summary(socketio.runs.map((run) => run.rate)).median : NaN;
const rows = results.map(({ kind, runs, paced }) => {
  const rate = summary(runs.map((run) => run.rate)).median;
  return [
    SERVER_LABELS[kind],
    formatSummary(runs.map((run) => run.rate)),
    formatRatio(rate, rawRate),
    formatRatio(rate, socketioRate),
    formatSummary(
      runs.map((run) => run.cpuPerDelivery),
      2,
    ),
    `${formatNumber(summary(runs.map((run) => run.serverCpuShare * 100)).median)} % / ${formatNumber(summary(runs.map((run) => run.receiverCpuShare * 100)).median)} %`,
    `${formatNumber(summary(runs.map((run) => run.p50)).median, 1)} / ${formatNumber(summary(runs.map((run) => run.p99)).median, 1)}`,
    `${formatNumber(paced.p50, 2)} / ${formatNumber(paced.p99, 2)}`,
  ];
});

const lines = [
  `Fan-out: 1 publisher, ${opts.subscribers} subscribers on one channel (receivers in another process), ` +
    `${opts.runs} runs of ${opts['duration-ms']} ms after a warm-up, window ${opts.window} unacknowledged publishes, ` +
    `~110-byte message frames; paced latency: ${opts.paced} messages, one per ${opts['paced-interval-ms']} ms.`,
  '',
  `${startLoad} (at the start)`,
  `${machineLine()} (at the end)`,
  '',
  markdownTable(
    [
      'server',
      'deliveries/s, median (min – max)',
      'vs raw ws',
      'vs Socket.IO',
      'server CPU µs/delivery, median (min – max)',
      'CPU server / receivers',
      'p50 / p99 ms under load',
      'p50 / p99 ms paced',
    ],
    rows,
    ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  ),
  '',
  `Command: \`${commandLine()}\``,
];
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
