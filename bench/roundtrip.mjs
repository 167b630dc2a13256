#!/usr/bin/env node
// 1:1 round trip, one message at a time, server in a process of its own, clients here.
//
//   ours       SignallingClient A publishes on a channel → SignallingClient B's Message event
//   ours, raw ws clients   the same with two raw ws clients (the server's part without the SDK)
//   raw ws     a ws client sends a frame → the raw ws server echoes it to the same socket
//   raw relay  two raw ws clients on the raw ws server: publish → message on the other socket
//              (each client encodes its frame and parses the reply, as an application would)
//   Socket.IO  socket.io-client emitWithAck('echo') → the server's ack
//
//   node bench/roundtrip.mjs [--quick] [--warmup 3000] [--count 5000] [--runs 5]
//                            [--servers raw,socketio,metered,metered-history-off]
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
  formatRatio,
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
  serverCpuMicros,
  startBenchServer,
  stopBenchServer,
} from './lib/bench-servers.mjs';

const opts = options(
  { warmup: [3000, 500], count: [5000, 1000], runs: [5, 2] },
  { servers: { type: 'string' } },
);
// A row: a server kind, or `metered-wire` (our server, raw ws clients speaking protocol v1: the
// server's part of our round trip without the SDK's).
// `raw-relay` (the raw ws server, the same two raw ws clients): what the second socket and the
// ack cost a bare ws server, the like-for-like control for our round trip.
const KINDS =
  opts.servers?.split(',') ??
  defaultKinds(
    'raw,raw-relay,socketio,metered,metered-history-off,metered-wire,metered-wire-history-off'.split(
      ',',
    ),
  );
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
  socket.on('message', (data) => {
    JSON.parse(data.toString()); // as a client would
    pending?.();
  });
  return {
    once: (onReply = noop) =>
      new Promise((resolve) => {
        pending = () => {
          onReply(performance.now());
          resolve();
        };
        socket.send(JSON.stringify({ type: 'echo', data: PAYLOAD }));
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

/** Two raw ws clients (protocol v1): A's publish frame → B's message frame. */
async function meteredWireClient(base) {
  const open = () =>
    withTimeout(
      new Promise((resolve, reject) => {
        const socket = new WebSocket(`${base}/v1?key=pk_bench`, { perMessageDeflate: false });
        socket.once('message', () => resolve(socket)); // welcome
        socket.once('error', reject);
      }),
      10_000,
      'ws connect',
    );
  const a = await open();
  const b = await open();
  await withTimeout(
    new Promise((resolve) => {
      b.on('message', function subscribed(data) {
        if (JSON.parse(data.toString()).type !== 'presence') return;
        b.off('message', subscribed);
        resolve();
      });
      b.send(JSON.stringify({ type: 'subscribe', channel: 'rt', requestId: 's' }));
    }),
    10_000,
    'subscribe',
  );
  let pending;
  b.on('message', (data) => {
    JSON.parse(data.toString()); // as a client would
    pending?.();
  });
  let id = 0;
  return {
    once: (onReply = noop) =>
      new Promise((resolve) => {
        pending = () => {
          onReply(performance.now());
          resolve();
        };
        a.send(
          JSON.stringify({ type: 'publish', channel: 'rt', data: PAYLOAD, requestId: `p${++id}` }),
        );
      }),
    close: () => {
      a.terminate();
      b.terminate();
    },
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
  'metered-history-off': meteredClient,
  'metered-wire': meteredWireClient,
  'metered-wire-history-off': meteredWireClient,
  'metered-baseline-wire': meteredWireClient,
  'raw-relay': meteredWireClient,
};
const SERVER_OF = {
  'metered-wire': 'metered',
  'metered-wire-history-off': 'metered-history-off',
  'metered-baseline-wire': 'metered-baseline',
  'raw-relay': 'raw',
};
const ROW_LABELS = {
  raw: 'raw ws, echo on the same socket',
  'raw-relay': 'raw ws, publish → message on another socket, + ack',
  'metered-wire': `${SERVER_LABELS.metered}, raw ws clients (no SDK)`,
  'metered-wire-history-off': `${SERVER_LABELS['metered-history-off']}, raw ws clients (no SDK)`,
  'metered-baseline-wire': `${SERVER_LABELS['metered-baseline']}, raw ws clients (no SDK)`,
};

async function measure(kind) {
  log(`${kind}: starting`);
  const server = await startBenchServer(SERVER_OF[kind] ?? kind);
  let client;
  try {
    client = await CLIENTS[kind](server.base);
    const runs = [];
    const timings = new Float64Array(opts.count);
    for (let run = 0; run < opts.runs; run++) {
      for (let index = 0; index < opts.warmup; index++) {
        await withTimeout(client.once(), ROUND_TRIP_TIMEOUT_MS, 'warm-up round trip');
      }
      const cpuBefore = await serverCpuMicros(server);
      for (let index = 0; index < opts.count; index++) {
        const start = performance.now();
        const trip = client.once((at) => (timings[index] = (at - start) * 1000));
        await withTimeout(trip, ROUND_TRIP_TIMEOUT_MS, 'round trip');
      }
      const cpu = ((await serverCpuMicros(server)) - cpuBefore) / opts.count;
      const sorted = timings.slice().sort();
      runs.push({ p50: percentile(sorted, 50), p99: percentile(sorted, 99), cpu });
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
  ROW_LABELS[kind] ??
    SERVER_LABELS[kind] + (kind.startsWith('metered') ? ' + @metered/signalling' : ''),
  formatSummary(runs.map((run) => run.p50)),
  formatSummary(runs.map((run) => run.p99)),
  formatRatio(summary(runs.map((run) => run.p50)).median, rawP50),
  formatSummary(
    runs.map((run) => run.cpu),
    1,
  ),
]);
const lines = [
  `Round trip, one at a time: ${opts.runs} runs of ${opts.warmup} warm-up + ${opts.count} timed round trips, ` +
    `payload {text: 64 × "x"}, server in its own process, clients in this one.`,
  '',
  `${startLoad} (at the start)`,
  `${machineLine()} (at the end)`,
  '',
  markdownTable(
    [
      'server',
      'p50 µs, median (min – max)',
      'p99 µs, median (min – max)',
      'p50 vs raw ws',
      'server CPU µs per round trip',
    ],
    rows,
    ['left', 'right', 'right', 'right', 'right'],
  ),
  '',
  `Command: \`${commandLine()}\``,
];
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
