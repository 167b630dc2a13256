#!/usr/bin/env node
// 1:1 round trip, one message at a time, server in a process of its own, clients here.
//
//   ours       SignallingClient A publishes on a channel → SignallingClient B's Message event
//   raw ws     a ws client sends a frame → the raw ws server echoes it to the same socket
//   Socket.IO  socket.io-client emitWithAck('echo') → the server's ack
//
//   node bench/roundtrip.mjs [--quick] [--warmup 3000] [--count 5000] [--runs 5]
//                            [--servers raw,socketio,metered]
//   METERED_BASELINE_MODULE=<another build>/dist/index.js adds that build as a row.
//
// Each run: --warmup round trips, then --count timed ones; p50/p99 per run, reported as the
// median (min – max) over the runs.
import { SignallingClient, Message } from '@metered/signalling';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import {
  commandLine,
  formatNumber,
  formatSummary,
  log,
  machineLine,
  markdownTable,
  options,
  percentile,
  summary,
  withTimeout,
} from './lib/common.mjs';
import {
  SERVER_LABELS,
  defaultKinds,
  startBenchServer,
  stopBenchServer,
} from './lib/bench-servers.mjs';

const opts = options(
  { warmup: [3000, 500], count: [5000, 1000], runs: [5, 2] },
  { servers: { type: 'string' } },
);
const KINDS = opts.servers?.split(',') ?? defaultKinds('raw,socketio,metered'.split(','));
const PAYLOAD = { text: 'x'.repeat(64) };
const ROUND_TRIP_TIMEOUT_MS = 10_000;
const noop = () => undefined;

/** `once()` → a round trip's promise; `close()`. */
async function rawClient(base) {
  const socket = new WebSocket(`${base}/v1`, { perMessageDeflate: false });
  await withTimeout(
    new Promise((resolve, reject) => {
      socket.once('message', resolve); // welcome
      socket.once('error', reject);
    }),
    10_000,
    'raw ws connect',
  );
  let pending;
  socket.on('message', () => pending?.());
  const frame = JSON.stringify({ type: 'echo', data: PAYLOAD });
  return {
    once: (onReply = noop) =>
      new Promise((resolve) => {
        pending = () => {
          onReply(performance.now());
          resolve();
        };
        socket.send(frame);
      }),
    close: () => socket.terminate(),
  };
}

async function socketioClient(base) {
  const socket = io(base, { transports: ['websocket'], reconnection: false, forceNew: true });
  await withTimeout(
    new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    }),
    10_000,
    'socket.io connect',
  );
  return {
    once: async (onReply = noop) => {
      await socket.emitWithAck('echo', PAYLOAD);
      onReply(performance.now());
    },
    close: () => socket.close(),
  };
}

async function meteredClient(base) {
  const make = () =>
    new SignallingClient({
      apiKey: 'pk_bench',
      url: base,
      webSocketFactory: (url) => new WebSocket(url, { perMessageDeflate: false }),
      reconnect: false,
    });
  const a = make();
  const b = make();
  await Promise.all([a.connect(), b.connect()]);
  await Promise.all([a.subscribe('rt'), b.subscribe('rt')]);
  let pending;
  b.on(Message, () => pending?.());
  return {
    once: async (onReply = noop) => {
      const delivered = new Promise((resolve) => {
        pending = () => {
          onReply(performance.now());
          resolve();
        };
      });
      const acked = a.publish('rt', PAYLOAD);
      await delivered;
      await acked; // the next round trip starts once A has its ack too
    },
    close: () => Promise.all([a.close(), b.close()]),
  };
}

const CLIENTS = {
  raw: rawClient,
  socketio: socketioClient,
  metered: meteredClient,
  'metered-baseline': meteredClient,
};

async function measure(kind) {
  log(`${kind}: starting`);
  const server = await startBenchServer(kind);
  let client;
  try {
    client = await CLIENTS[kind](server.base);
    const runs = [];
    const timings = new Float64Array(opts.count);
    for (let run = 0; run < opts.runs; run++) {
      for (let index = 0; index < opts.warmup; index++) {
        await withTimeout(client.once(), ROUND_TRIP_TIMEOUT_MS, 'warm-up round trip');
      }
      for (let index = 0; index < opts.count; index++) {
        const start = performance.now();
        const trip = client.once((at) => (timings[index] = (at - start) * 1000));
        await withTimeout(trip, ROUND_TRIP_TIMEOUT_MS, 'round trip');
      }
      const sorted = timings.slice().sort();
      runs.push({ p50: percentile(sorted, 50), p99: percentile(sorted, 99) });
      log(`${kind}: run ${run + 1}: p50 ${formatNumber(runs.at(-1).p50)} µs`);
    }
    return { kind, runs };
  } finally {
    await client?.close();
    await stopBenchServer(server);
  }
}

const startLoad = machineLine();
const results = [];
for (const kind of KINDS) results.push(await measure(kind));
const raw = results.find((result) => result.kind === 'raw');
const rawP50 = raw ? summary(raw.runs.map((run) => run.p50)).median : NaN;
const rows = results.map(({ kind, runs }) => [
  SERVER_LABELS[kind] + (kind.startsWith('metered') ? ' + @metered/signalling' : ''),
  formatSummary(runs.map((run) => run.p50)),
  formatSummary(runs.map((run) => run.p99)),
  `${formatNumber(summary(runs.map((run) => run.p50)).median / rawP50, 2)}×`,
]);
const lines = [
  `Round trip, one at a time: ${opts.runs} runs of ${opts.warmup} warm-up + ${opts.count} timed round trips, ` +
    `payload {text: 64 × "x"}, server in its own process, clients in this one.`,
  '',
  `${startLoad} (at the start)`,
  `${machineLine()} (at the end)`,
  '',
  markdownTable(
    ['server', 'p50 µs, median (min – max)', 'p99 µs, median (min – max)', 'p50 vs raw ws'],
    rows,
    ['left', 'right', 'right', 'right'],
  ),
  '',
  `Command: \`${commandLine()}\``,
];
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
