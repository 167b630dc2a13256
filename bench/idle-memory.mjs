#!/usr/bin/env node
// Idle memory per connection on the server: N connected, subscribed clients (raw WebSocket
// clients in a process of their own, spread over --rooms channels), the server in a process of
// its own started with --expose-gc. Per run: a fresh server, its memory after GC; N clients
// connect and subscribe; after --settle-ms, GC again; (after − before) ÷ N.
//
//   node bench/idle-memory.mjs [--quick] [--clients 4000] [--rooms 100] [--runs 3]
//                              [--servers raw,socketio,metered]
//   METERED_BASELINE_MODULE=<another build>/dist/index.js adds that build as a row.
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
  options,
  sleep,
  summary,
} from './lib/common.mjs';
import {
  SERVER_LABELS,
  defaultKinds,
  startBenchServer,
  stopBenchServer,
} from './lib/bench-servers.mjs';

const opts = options(
  { clients: [4000, 500], rooms: [100, 20], runs: [3, 1], 'settle-ms': [2000, 500] },
  { servers: { type: 'string' } },
);
const KINDS = opts.servers?.split(',') ?? defaultKinds('raw,socketio,metered'.split(','));
const RECEIVERS = fileURLToPath(new URL('lib/receivers.mjs', import.meta.url));
const KIB = 1024;

async function runOnce(kind) {
  const server = await startBenchServer(kind, { exposeGc: true });
  // Ours: the key with every action, presence included (the usual client).
  const clients = forkChild(RECEIVERS, [], { env: { BENCH_KEY: 'pk_bench_presence' } });
  try {
    await clients.waitFor((message) => message?.ready, 15_000, 'clients');
    await sleep(300);
    const before = await server.rpc.call('mem');
    if (!before.gc) throw new Error('the server child has no gc()');
    await clients.call(
      'connect',
      {
        kind,
        base: server.base,
        count: opts.clients,
        channel: { prefix: 'room-', rooms: opts.rooms },
      },
      300_000,
    );
    await sleep(opts['settle-ms']);
    const after = await server.rpc.call('mem');
    const { open } = await clients.call('stats');
    if (open !== opts.clients) throw new Error(`${open}/${opts.clients} clients still open`);
    const heap = (usage) => usage.heapUsed + usage.external;
    return {
      rss: (after.rss - before.rss) / opts.clients / KIB,
      heap: (heap(after) - heap(before)) / opts.clients / KIB,
    };
  } finally {
    await clients.call('close', {}, 10_000).catch(() => undefined);
    await clients.stop(2000);
    await stopBenchServer(server);
  }
}

const startLoad = machineLine();
const results = [];
for (const kind of KINDS) {
  const runs = [];
  for (let run = 0; run < opts.runs; run++) {
    const result = await runOnce(kind);
    log(
      `${kind}: run ${run + 1}: ${formatNumber(result.rss, 1)} KiB RSS, ` +
        `${formatNumber(result.heap, 1)} KiB heap+external per connection`,
    );
    runs.push(result);
  }
  results.push({ kind, runs });
}

const raw = results.find((result) => result.kind === 'raw');
const rawRss = raw ? summary(raw.runs.map((run) => run.rss)).median : NaN;
const rawHeap = raw ? summary(raw.runs.map((run) => run.heap)).median : NaN;
const rows = results.map(({ kind, runs }) => [
  SERVER_LABELS[kind],
  formatSummary(
    runs.map((run) => run.rss),
    1,
  ),
  formatRatio(summary(runs.map((run) => run.rss)).median, rawRss),
  formatSummary(
    runs.map((run) => run.heap),
    1,
  ),
  formatRatio(summary(runs.map((run) => run.heap)).median, rawHeap),
]);
const lines = [
  `Idle memory per connection: ${opts.clients} connected clients, each subscribed to one of ${opts.rooms} channels ` +
    `(Socket.IO: one room; raw ws: every socket in one set), ${opts.runs} runs each on a fresh server process, ` +
    `after GC; median (min – max).`,
  '',
  `${startLoad} (at the start)`,
  `${machineLine()} (at the end)`,
  '',
  markdownTable(
    ['server', 'RSS KiB/connection', 'vs raw ws', 'heap + external KiB/connection', 'vs raw ws'],
    rows,
    ['left', 'right', 'right', 'right', 'right'],
  ),
  '',
  `Command: \`${commandLine()}\``,
];
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
