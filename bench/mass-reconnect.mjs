#!/usr/bin/env node
// Mass reconnect: N SignallingClients (in a process of their own) on our server (the CLI, in a
// process of its own), spread over --rooms channels. The server is killed with SIGKILL and
// started again on the same port after --down-ms. Measured from the kill: time until every
// client is connected again, and until every client has its channel's presence snapshot again
// (resubscribed); then one probe message per channel must reach every client. Peak server RSS is
// the restarted process's VmHWM.
//
//   node bench/mass-reconnect.mjs [--quick] [--clients 2000] [--rooms 100] [--down-ms 1000]
//                                 [--runs 3] [--timeout-ms 120000]
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
import { startServerCli } from './lib/server-cli.mjs';

const opts = options({
  clients: [2000, 300],
  rooms: [100, 20],
  'down-ms': [1000, 500],
  runs: [3, 1],
  'timeout-ms': [120_000, 60_000],
});
const FARM = fileURLToPath(new URL('lib/client-farm.mjs', import.meta.url));

async function healthy(port) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Publishes `{probe}` once to every room; resolves once every publish is acknowledged. */
async function probeRooms(port, probe) {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/v1?key=pk_bench`);
  try {
    await withTimeout(
      new Promise((resolve, reject) => {
        let acks = 0;
        socket.once('error', reject);
        socket.on('message', (data) => {
          const frame = JSON.parse(data.toString());
          if (frame.type === 'welcome') {
            for (let room = 0; room < opts.rooms; room++) {
              socket.send(
                JSON.stringify({
                  type: 'publish',
                  channel: `room-${room}`,
                  data: { probe },
                  requestId: `probe-${room}`,
                }),
              );
            }
          } else if (frame.type === 'ack' && ++acks === opts.rooms) resolve();
        });
      }),
      15_000,
      'probe publish',
    );
  } finally {
    socket.terminate();
  }
}

const directory = mkdtempSync(join(tmpdir(), 'metered-bench-'));
const configPath = join(directory, 'server.json');
writeFileSync(configPath, JSON.stringify(benchConfig()));
const port = await freePort();
const startLoad = machineLine();
const rows = [];
const runs = [];
let server;
let farm;
try {
  server = await startServerCli(configPath, port);
  farm = forkChild(FARM);
  await farm.waitFor((message) => message?.ready, 15_000, 'client farm');
  log(`connecting ${opts.clients} clients`);
  const connectStart = performance.now();
  await farm.call('start', {
    base: `ws://127.0.0.1:${port}`,
    count: opts.clients,
    rooms: opts.rooms,
  });
  log(`connected in ${formatNumber(performance.now() - connectStart)} ms`);
  const steadyRss = procMemory(server.pid);

  for (let run = 0; run < opts.runs; run++) {
    await until(
      async () => (await farm.call('status')).connected === opts.clients,
      opts['timeout-ms'],
      'every client connected before the kill',
      50,
    );
    await sleep(500);
    const rssBefore = procMemory(server.pid);
    await farm.call('killed');
    const killedAt = nowMicros();
    server.kill('SIGKILL');
    await new Promise((resolve) =>
      server.exitCode !== null || server.signalCode !== null
        ? resolve()
        : server.once('exit', resolve),
    );
    log(`run ${run + 1}: server killed`);
    await sleep(opts['down-ms']);
    const restartedAt = nowMicros();
    server = await startServerCli(configPath, port);
    let peakSampled = 0;
    const status = await until(
      async () => {
        peakSampled = Math.max(peakSampled, procMemory(server.pid).rssKiB);
        const current = await farm.call('status');
        return current.resubscribed === opts.clients && current.reconnected === opts.clients
          ? current
          : undefined;
      },
      opts['timeout-ms'],
      `every client resubscribed (run ${run + 1})`,
      50,
    );
    const probe = run + 1;
    await probeRooms(port, probe);
    await until(
      async () => (await farm.call('status', { probe })).probed === opts.clients,
      10_000,
      'the probe reached every client',
      20,
    );
    const alive = server.exitCode === null && (await healthy(port));
    const memory = procMemory(server.pid);
    const result = {
      reconnectSeconds: (status.lastReconnectedAt - killedAt) / 1e6,
      resubscribeSeconds: (status.lastResubscribedAt - killedAt) / 1e6,
      afterRestartSeconds: (status.lastResubscribedAt - restartedAt) / 1e6,
      peakRssMiB: memory.peakRssKiB / 1024,
      rssBeforeMiB: rssBefore.rssKiB / 1024,
      alive,
    };
    log(
      `run ${run + 1}: all resubscribed ${formatNumber(result.resubscribeSeconds, 2)} s after the kill, ` +
        `peak RSS ${formatNumber(result.peakRssMiB, 1)} MiB, alive ${alive}`,
    );
    if (!alive) throw new Error('the restarted server is not healthy');
    runs.push(result);
  }
  rows.push(
    ['clients reconnected and resubscribed', `${opts.clients} / ${opts.clients}, every run`],
    ['probe message after the restart reached', `${opts.clients} / ${opts.clients}, every run`],
    ['server alive and /healthz 200 afterwards', 'yes, every run'],
    [
      'time to 100 % reconnected (welcome), from the kill, s',
      formatSummary(
        runs.map((run) => run.reconnectSeconds),
        2,
      ),
    ],
    [
      'time to 100 % resubscribed (presence snapshot), from the kill, s',
      formatSummary(
        runs.map((run) => run.resubscribeSeconds),
        2,
      ),
    ],
    [
      'same, from the restarted server listening, s',
      formatSummary(
        runs.map((run) => run.afterRestartSeconds),
        2,
      ),
    ],
    [
      'peak server RSS during the reconnect (VmHWM of the restarted process), MiB',
      formatSummary(
        runs.map((run) => run.peakRssMiB),
        1,
      ),
    ],
    [
      'server RSS before the kill (steady, all connected), MiB',
      formatSummary(
        runs.map((run) => run.rssBeforeMiB),
        1,
      ),
    ],
    ['first server, RSS after the initial connect, MiB', formatNumber(steadyRss.rssKiB / 1024, 1)],
  );
} finally {
  if (farm) {
    await farm.call('close', {}, 15_000).catch(() => undefined);
    await farm.stop(2000);
  }
  if (server) await stopChild(server, 6000);
  rmSync(directory, { recursive: true, force: true });
}

const lines = [
  `Mass reconnect: ${opts.clients} SignallingClients (default reconnect policy: 500 ms initial delay, ×2, ±20 % jitter) ` +
    `in one process, ${opts.rooms} channels, our server (CLI) in another; SIGKILL, restart on the same port after ` +
    `${opts['down-ms']} ms; ${opts.runs} runs, median (min – max).`,
  '',
  `${startLoad} (at the start)`,
  `${machineLine()} (at the end)`,
  '',
  markdownTable(['measure', 'value'], rows, ['left', 'right']),
  '',
  `Command: \`${commandLine()}\``,
];
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
