import { afterEach, describe, expect, it } from 'vitest';
import { useBroker } from './broker.js';
import { appConfig } from './credentials.js';
import { FaultProxy, SeededRandom, type FaultScheduleOptions } from '@metered/test-support';
import {
  checkDelivery,
  checkSettled,
  expectNoLeftoverHandles,
  expectNothingLost,
  expectRecovered,
  expectServerBackToRest,
  openHandles,
  SETTLE_BOUND_MS,
  stopWorkload,
} from './invariants.js';
import { ServerProcess, type ServerStats } from './server-process.js';
import { LONG, printSeedOnFailure, report, SEED } from './settings.js';
import { Workload } from './workload.js';

useBroker();

// 50 clients publish, send directs and (re)subscribe through a TCP proxy that injects faults on
// a seeded schedule; the server runs in a process of its own so that it can be killed, drained
// and weighed. At the end: every request settled in time with an ack or a typed error, no
// message twice on one connection, every client back to `connected` with its subscriptions,
// no handle left in this process, the server's bookkeeping back to zero and its heap near its
// start.

const CLIENTS = 50;
const CHANNELS = 10;
/** Small on purpose: a blackholed connection is noticed (and replaced) after this long. */
const INACTIVITY_TIMEOUT_MS = 3_000;
const APP = appConfig('load', {
  // Every reconnect is a connect attempt from 127.0.0.1.
  limits: {
    connectAttemptsPerIpPerMinute: 1_000_000,
    messagesPerSecond: 1_000,
    messageBurst: 2_000,
  },
});
const KEY = APP.secretKeys[0] as { id: string; secret: string };

const SCHEDULE: FaultScheduleOptions = {
  durationMs: LONG ? 120_000 : 15_000,
  meanGapMs: 120,
  weights: { drop: 2, stall: 2, delay: 2, cut: 2, blackhole: 1 },
  stallMs: [200, 2_500],
  delayMs: [20, 300],
  delayForMs: [500, 3_000],
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function startServer(port = 0): Promise<ServerProcess> {
  return ServerProcess.start({
    host: '127.0.0.1',
    port,
    apps: [APP],
    // Finds the server half of a blackholed connection within two intervals.
    heartbeatIntervalMs: 1_000,
    // Long enough that on a loaded machine every client (all in this one process, behind the
    // proxy) answers the 1001 before the server gives up and terminates the rest: a terminated
    // socket reaches the client as 1006 without its going_away.
    drainTimeoutMs: 10_000,
    shutdownRetryAfterMs: 200,
  });
}

interface Run {
  server: ServerProcess;
  proxy: FaultProxy;
  workload: Workload;
  baseline: ServerStats;
  handles: Record<string, number>;
  random: SeededRandom;
}

/** Server, proxy and connected workload; the server's idle baseline is taken after a warm-up. */
async function setUp(seed: number): Promise<Run> {
  const handles = openHandles();
  const random = new SeededRandom(seed);
  const server = await startServer();
  cleanups.push(() => server.kill());
  const proxy = new FaultProxy(server.port);
  await proxy.listen();
  cleanups.push(() => proxy.close());

  // Warm-up: a first round of connections initialises what the server keeps for good (code,
  // metric label sets); the idle baseline is measured once they are gone.
  const warmUp = new Workload(random.fork(), {
    url: server.url,
    key: KEY,
    clients: 5,
    channels: CHANNELS,
    inactivityTimeoutMs: INACTIVITY_TIMEOUT_MS,
    actionGapMs: [10, 20],
  });
  await warmUp.connect();
  await warmUp.clients[0]?.publish('load/0');
  await warmUp.close();
  const baseline = await server.stats();

  const workload = new Workload(random.fork(), {
    url: proxy.url,
    key: KEY,
    clients: CLIENTS,
    channels: CHANNELS,
    inactivityTimeoutMs: INACTIVITY_TIMEOUT_MS,
    actionGapMs: [100, 400],
  });
  cleanups.push(() => workload.close());
  await workload.connect();
  return { server, proxy, workload, baseline, handles, random };
}

/** The end-of-run invariants; returns the figures for the report. */
async function finish(run: Run, server: ServerProcess, baseline: ServerStats) {
  const { proxy, workload } = run;
  const settled = checkSettled(workload.requests());
  checkDelivery(workload);
  const deliveriesChecked = await expectNothingLost(workload);
  await expectRecovered(server, KEY, workload);
  const reconnects = workload.clients.reduce((sum, load) => sum + load.reconnects, 0);
  const closeCodes: Record<string, number> = {};
  for (const load of workload.clients) {
    for (const [code, count] of load.closeCodes) closeCodes[code] = (closeCodes[code] ?? 0) + count;
  }
  await workload.close();
  await proxy.close();
  const after = await expectServerBackToRest(server, baseline);
  expect(server.errors(), 'errors the server logged').toEqual([]);
  await server.drain();
  await expectNoLeftoverHandles(run.handles);
  return {
    ...settled,
    settleBoundMs: SETTLE_BOUND_MS,
    deliveriesChecked,
    reconnects,
    closeCodes,
    connectionsThroughProxy: proxy.accepted,
    heapBeforeMiB: mebibytes(baseline.memory.heapUsed),
    heapAfterMiB: mebibytes(after.memory.heapUsed),
  };
}

function mebibytes(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

describe('fault injection between 50 clients and the server', () => {
  it('settles every request, delivers nothing twice and recovers everything after a seeded fault schedule', async () => {
    printSeedOnFailure();
    const run = await setUp(SEED);
    run.workload.start();
    await run.proxy.run(run.random.fork(), SCHEDULE);
    await stopWorkload(run.workload);
    run.proxy.heal();
    const figures = await finish(run, run.server, run.baseline);
    expect(run.proxy.injected.drop + run.proxy.injected.stall).toBeGreaterThan(0);
    // Drops and cuts end in 1006; a stalled or blackholed connection is closed by the client's
    // own inactivity watchdog (4000). Nothing else may close a client.
    expect(
      Object.keys(figures.closeCodes).filter((code) => code !== '1006' && code !== '4000'),
    ).toEqual([]);
    await report('faults', {
      durationMs: SCHEDULE.durationMs,
      injected: run.proxy.injected,
      skipped: run.proxy.skipped,
      ...figures,
    });
  });

  it('recovers when the server is killed (SIGKILL) and restarted mid-run', async () => {
    printSeedOnFailure();
    const run = await setUp(SEED + 1);
    run.workload.start();
    const rounds = LONG ? 4 : 1;
    let server = run.server;
    for (let round = 0; round < rounds; round++) {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await server.kill();
      expect(server.exit?.signal).toBe('SIGKILL');
      // The same port: clients reconnect through the proxy to the new process.
      server = await startServer(server.port);
      const next = server;
      cleanups.push(() => next.kill());
      // Requests settle, then every client must be back before the load resumes.
      await stopWorkload(run.workload);
      await expectRecovered(server, KEY, run.workload);
      run.workload.start();
    }
    // Load on the restarted server before the end.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await stopWorkload(run.workload);
    const figures = await finish(run, server, run.baseline);
    // Every client lost its connection once per round, with 1006 (no close frame from a killed
    // process), and reconnected; 1000 is the test closing it at the end.
    for (const load of run.workload.clients) {
      expect([load.peerId, Object.fromEntries(load.closeCodes)], load.closes.join('; ')).toEqual([
        load.peerId,
        { 1006: rounds, 1000: 1 },
      ]);
    }
    expect(figures.reconnects).toBe(CLIENTS * rounds);
    await report('kill-restart', { rounds, ...figures });
  });

  it('follows a going_away deploy drain: every client moves to the new server', async () => {
    printSeedOnFailure();
    const run = await setUp(SEED + 2);
    run.workload.start();
    const rounds = LONG ? 4 : 1;
    let server = run.server;
    for (let round = 0; round < rounds; round++) {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      // Blue/green: the new server starts, the proxy (the load balancer) sends new connections to
      // it, then the old one drains with going_away + 1001.
      const next = await startServer();
      cleanups.push(() => next.kill());
      run.proxy.retarget(next.port);
      await server.drain();
      expect(server.exit).toEqual({ code: 0, signal: null });
      server = next;
      await stopWorkload(run.workload);
      await expectRecovered(server, KEY, run.workload);
      expect(run.workload.clients.filter((load) => load.goingAway !== round + 1)).toEqual([]);
      run.workload.start();
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await stopWorkload(run.workload);
    const figures = await finish(run, server, run.baseline);
    for (const load of run.workload.clients) {
      expect(
        [load.peerId, load.goingAway, Object.fromEntries(load.closeCodes)],
        load.closes.join('; '),
      ).toEqual([load.peerId, rounds, { 1001: rounds, 1000: 1 }]);
    }
    await report('deploy-drain', { rounds, ...figures });
  });
});
