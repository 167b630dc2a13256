#!/usr/bin/env node
// Recovery after a node kill: two nodes of our server (the CLI, each in a process of its own)
// share a throwaway Redis; a TCP proxy (the load balancer) sends every connection to node A.
// N SignallingClients (in a process of their own) connect through it and subscribe with
// `{ recover: true }` to one of --rooms channels, on which a publisher connected to node B
// publishes numbered messages ({n}) at --rate rounds per second (one message to every channel
// per round) for the whole run. Node A is killed with SIGKILL and the proxy retargeted to node B
// at once. Measured from the kill: time until every client is connected again (also 50 % and
// 90 % of them, and how many got their session resumed), until every client got `Resubscribed`
// (and how many with `recovered: true`), and until every client holds every message the
// publisher got acknowledged up to its resubscribe (caught up; later ones come
// live). At the end the publisher stops and every client must hold every acknowledged message of
// its channel exactly once, in order; a violation is printed as a FAILURE line. Peak RSS is
// node B's VmHWM. Each run starts fresh nodes, clients and key prefix on the same Redis.
//
//   node bench/node-kill-recovery.mjs [--quick] [--clients 2000] [--rooms 100] [--rate 5]
//                                     [--runs 3] [--timeout-ms 120000]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import {
  commandLine,
  forkChild,
  formatNumber,
  formatSummary,
  freePort,
  log,
  machineLine,
  markdownTable,
  nowMicros,
  options,
  procMemory,
  sleep,
  stopChild,
  until,
  withTimeout,
} from './lib/common.mjs';
import { benchConfig } from './lib/bench-app.mjs';
import { startRedis } from '../apps/server/bench/redis.mjs';
import { startServerCli } from './lib/server-cli.mjs';

const opts = options({
  clients: [2000, 300],
  rooms: [100, 20],
  rate: [5, 5],
  runs: [3, 1],
  'timeout-ms': [120_000, 60_000],
});
const FARM = fileURLToPath(new URL('lib/recovery-client-farm.mjs', import.meta.url));
const PROXY = fileURLToPath(new URL('lib/tcp-proxy.mjs', import.meta.url));

function exited(child) {
  return new Promise((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve),
  );
}

/**
 * One `ws` socket on node B publishing `{n}` to every channel, one round every 1000/rate ms.
 * Acknowledgements are collected as `[room, n, ackedAt]` (µs) until `takeAcks()`.
 */
class NumberedPublisher {
  constructor(port, prefix) {
    this.prefix = prefix;
    this.round = 0;
    this.sent = 0;
    this.acked = 0;
    this.errors = [];
    this.batch = [];
    this.timer = undefined;
    this.socket = new WebSocket(`ws://127.0.0.1:${port}/v1?key=pk_bench`, {
      perMessageDeflate: false,
    });
    this.ready = withTimeout(
      new Promise((resolve, reject) => {
        this.socket.once('error', reject);
        this.socket.once('close', () => reject(new Error('publisher closed before welcome')));
        this.socket.on('message', (data) => {
          const frame = JSON.parse(data.toString());
          if (frame.type === 'welcome') resolve();
          else if (frame.type === 'ack' && frame.requestId?.startsWith('p')) {
            const [room, n] = frame.requestId.slice(1).split(':').map(Number);
            this.acked++;
            this.batch.push([room, n, nowMicros()]);
          } else if (frame.type === 'error') {
            this.errors.push(`${frame.code} (${frame.requestId})`);
          }
        });
      }),
      15_000,
      'publisher connect',
    );
  }

  start(rooms, rate) {
    const interval = 1000 / rate;
    const started = performance.now();
    const tick = () => {
      this.round++;
      for (let room = 0; room < rooms; room++) {
        this.socket.send(
          JSON.stringify({
            type: 'publish',
            channel: `${this.prefix}-${room}`,
            data: { n: this.round },
            requestId: `p${room}:${this.round}`,
          }),
        );
        this.sent++;
      }
      this.timer = setTimeout(
        tick,
        Math.max(0, started + this.round * interval - performance.now()),
      );
    };
    tick();
  }

  stop() {
    clearTimeout(this.timer);
  }

  takeAcks() {
    const batch = this.batch;
    this.batch = [];
    return batch;
  }

  close() {
    this.stop();
    this.socket.terminate();
  }
}

async function oneRun(run, redisUrl, directory, proxy) {
  const prefix = `run${run}`;
  const configPath = join(directory, `server-${run}.json`);
  writeFileSync(
    configPath,
    JSON.stringify({
      ...benchConfig(),
      broker: { kind: 'redis', url: redisUrl, keyPrefix: prefix },
    }),
  );
  const [portA, portB] = [await freePort(), await freePort()];
  let nodeA;
  let nodeB;
  let farm;
  let publisher;
  try {
    nodeA = await startServerCli(configPath, portA);
    nodeB = await startServerCli(configPath, portB);
    await proxy.rpc.call('retarget', { port: portA });
    farm = forkChild(FARM);
    await farm.waitFor((message) => message?.ready, 15_000, 'client farm');
    const connectStart = performance.now();
    await farm.call('start', {
      base: `ws://127.0.0.1:${proxy.port}`,
      count: opts.clients,
      rooms: opts.rooms,
      prefix,
    });
    log(
      `run ${run}: ${opts.clients} clients on node A in ${formatNumber(performance.now() - connectStart)} ms`,
    );
    publisher = new NumberedPublisher(portB, prefix);
    await publisher.ready;
    publisher.start(opts.rooms, opts.rate);
    const status = (acks = publisher.takeAcks()) => farm.call('status', { acks });
    // Publishing at a steady rate for a while before the kill.
    await until(
      async () => (await status()).connected === opts.clients,
      opts['timeout-ms'],
      'every client connected before the kill',
      50,
    );
    await sleep(2000);
    await status();
    const rssBefore = procMemory(nodeB.pid);
    await farm.call('killed');
    const killedAt = nowMicros();
    nodeA.kill('SIGKILL');
    await proxy.rpc.call('retarget', { port: portB });
    await exited(nodeA);
    log(`run ${run}: node A killed, the proxy sends to node B`);
    let reconnected;
    let resubscribed;
    await until(
      async () => {
        const current = await status();
        if (
          !reconnected &&
          current.connected === opts.clients &&
          current.reconnected === opts.clients
        )
          reconnected = current;
        if (!resubscribed && current.resubscribed === opts.clients) resubscribed = current;
        return reconnected && resubscribed;
      },
      opts['timeout-ms'],
      `every client reconnected and resubscribed (run ${run})`,
      50,
    );
    // A client missing a message never catches up: that is reported below, not thrown.
    let caughtUp;
    await until(
      async () => {
        const current = await status();
        if (current.caughtUp === opts.clients) caughtUp = current;
        return caughtUp;
      },
      opts['timeout-ms'],
      'every client caught up',
      50,
    ).catch(() => undefined);
    const peakRss = procMemory(nodeB.pid);
    // Live for another second, then stop publishing and wait for every acknowledgement.
    await sleep(1000);
    publisher.stop();
    await until(
      () => publisher.acked + publisher.errors.length === publisher.sent,
      30_000,
      'every publish acknowledged',
    );
    await status();
    let complete = 0;
    await until(
      async () => (complete = await farm.call('complete')) === opts.clients,
      30_000,
      'every client received the last acknowledged message',
      50,
    ).catch(() => undefined);
    const verdict = await farm.call('verify');
    const failures = [
      ...publisher.errors.slice(0, 5).map((error) => `publish refused: ${error}`),
      ...(caughtUp ? [] : ['not every client caught up within --timeout-ms']),
      ...(complete === opts.clients
        ? []
        : [`${opts.clients - complete} clients never received their channel's last message`]),
      ...(verdict.clientsInViolation
        ? [`${verdict.clientsInViolation} clients in violation`, ...verdict.violations]
        : []),
    ].map((line) => `FAILURE: run ${run}: ${line}`);
    const result = {
      reconnectSeconds: (reconnected.lastReconnectedAt - killedAt) / 1e6,
      reconnectP50Seconds: (reconnected.p50ReconnectedAt - killedAt) / 1e6,
      reconnectP90Seconds: (reconnected.p90ReconnectedAt - killedAt) / 1e6,
      resumed: reconnected.resumed,
      resubscribeSeconds: (resubscribed.lastResubscribedAt - killedAt) / 1e6,
      caughtUpSeconds: caughtUp ? (caughtUp.lastCaughtUpAt - killedAt) / 1e6 : NaN,
      recovered: resubscribed.recovered,
      peakRssMiB: Math.max(peakRss.peakRssKiB, procMemory(nodeB.pid).peakRssKiB) / 1024,
      rssBeforeMiB: rssBefore.rssKiB / 1024,
      published: publisher.sent,
      acked: publisher.acked,
      failures,
    };
    log(
      `run ${run}: reconnected ${formatNumber(result.reconnectSeconds, 2)} s, resubscribed ` +
        `${formatNumber(result.resubscribeSeconds, 2)} s (${result.recovered} recovered), caught up ` +
        `${formatNumber(result.caughtUpSeconds, 2)} s after the kill; ${result.acked} / ` +
        `${result.published} acknowledged; node B peak RSS ${formatNumber(result.peakRssMiB, 1)} MiB; ` +
        `${failures.length} failure lines`,
    );
    for (const line of failures) log(line);
    return result;
  } finally {
    publisher?.close();
    if (farm) {
      await farm.call('close', {}, 15_000).catch(() => undefined);
      await farm.stop(2000);
    }
    if (nodeA) await stopChild(nodeA, 3000);
    if (nodeB) await stopChild(nodeB, 6000);
  }
}

const directory = mkdtempSync(join(tmpdir(), 'metered-bench-'));
const startLoad = machineLine();
const runs = [];
let redis;
let proxy;
try {
  redis = await startRedis();
  const rpc = forkChild(PROXY, ['0']);
  const { port } = await rpc.waitFor((message) => message?.ready, 15_000, 'proxy');
  proxy = { rpc, port };
  for (let run = 1; run <= opts.runs; run++) {
    runs.push(await oneRun(run, redis.url, directory, proxy));
  }
} finally {
  if (proxy) {
    await proxy.rpc.call('stop', {}, 5000).catch(() => undefined);
    await proxy.rpc.stop(2000);
  }
  redis?.stop();
  rmSync(directory, { recursive: true, force: true });
}

const failures = runs.flatMap((run) => run.failures);
const every = (values) =>
  values.every((value) => value === values[0]) ? `${values[0]}, every run` : values.join(', ');
const rows = [
  ['clients reconnected and resubscribed', `${opts.clients} / ${opts.clients}, every run`],
  [
    'resubscribed with `recovered: true`',
    every(runs.map((run) => `${run.recovered} / ${opts.clients}`)),
  ],
  [
    'every acknowledged message exactly once, in order, per client',
    failures.length === 0 ? 'yes, every run' : `NO (${failures.length} failure lines)`,
  ],
  [
    'messages published (acknowledged) per run',
    runs.map((run) => `${run.published} (${run.acked})`).join(', '),
  ],
  [
    'time to 100 % reconnected (welcome from node B), from the kill, s',
    formatSummary(
      runs.map((run) => run.reconnectSeconds),
      2,
    ),
  ],
  [
    'time to 50 % / 90 % reconnected, from the kill, s',
    `${formatSummary(
      runs.map((run) => run.reconnectP50Seconds),
      2,
    )} / ${formatSummary(
      runs.map((run) => run.reconnectP90Seconds),
      2,
    )}`,
  ],
  [
    'reconnected with their session resumed (`resumed: true`)',
    every(runs.map((run) => `${run.resumed} / ${opts.clients}`)),
  ],
  [
    'time to 100 % `Resubscribed`, from the kill, s',
    formatSummary(
      runs.map((run) => run.resubscribeSeconds),
      2,
    ),
  ],
  [
    'time to 100 % caught up (every message acknowledged before its resubscribe), from the kill, s',
    formatSummary(
      runs.map((run) => run.caughtUpSeconds),
      2,
    ),
  ],
  [
    'node B peak RSS (VmHWM, through the recovery), MiB',
    formatSummary(
      runs.map((run) => run.peakRssMiB),
      1,
    ),
  ],
  [
    'node B RSS before the kill (publisher only), MiB',
    formatSummary(
      runs.map((run) => run.rssBeforeMiB),
      1,
    ),
  ],
];

const lines = [
  `Node kill recovery: ${opts.clients} SignallingClients (default reconnect policy) in one process, ` +
    `subscribed with { recover: true } to ${opts.rooms} channels through a TCP proxy to node A; two nodes ` +
    `of our server (CLI) on one Redis; a publisher on node B sends ${opts.rate} numbered messages per ` +
    `second to every channel; node A SIGKILLed, the proxy retargeted to node B; ${opts.runs} runs, ` +
    `median (min – max).`,
  '',
  `${startLoad} (at the start)`,
  `${machineLine()} (at the end)`,
  '',
  markdownTable(['measure', 'value'], rows, ['left', 'right']),
  '',
  ...(failures.length ? [...failures, ''] : []),
  `Command: \`${commandLine()}\``,
];
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(failures.length ? 1 : 0);
