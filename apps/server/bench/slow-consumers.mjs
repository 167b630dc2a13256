#!/usr/bin/env node
// Memory of one node under many slow consumers, with and without the node-wide outbound cap.
//
// The server runs in a child process (weighed apart from the clients, `--expose-gc`). It holds
// `--consumers` subscribers, each on a channel of its own (so that no two share a queued frame:
// a fan-out frame written to many sockets is one buffer), each of which stops reading once
// subscribed; plus one healthy subscriber that reads everything. Publishers then send
// `--messages` messages of `--size` bytes to every consumer's channel, `--window` in flight per
// publisher, and one to the healthy channel after each round. The child samples its memory every
// 50 ms; the run reports the peaks (RSS, and heap + external, where queued frames live), the
// memory once every publish was acked (after a full GC), how many consumers the server closed as
// slow (1008), and whether the healthy subscriber got every message.
//
// Usage (after `pnpm --filter @metered/server build`):
//   node apps/server/bench/slow-consumers.mjs [--consumers 1000] [--size 65536] [--messages 96]
//     [--per-socket 4194304] [--cap 268435456 | --cap none] [--publishers 4] [--window 64]
// `--per-socket` is the per-socket bound (`maxOutboundBufferBytes`); `--cap` the node-wide
// `connections.maxOutboundBytes` (`none`: a cap no run reaches, as before it existed). Prints one
// markdown table row.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values } = parseArgs({
  options: {
    consumers: { type: 'string', default: '1000' },
    size: { type: 'string', default: '65536' },
    messages: { type: 'string', default: '96' },
    'per-socket': { type: 'string', default: String(4 * 1024 * 1024) },
    cap: { type: 'string', default: String(256 * 1024 * 1024) },
    publishers: { type: 'string', default: '4' },
    window: { type: 'string', default: '64' },
    role: { type: 'string' },
  },
});
const CONSUMERS = Number(values.consumers);
const SIZE = Number(values.size);
const MESSAGES = Number(values.messages);
const PER_SOCKET = Number(values['per-socket']);
const CAP = values.cap === 'none' ? Number.MAX_SAFE_INTEGER : Number(values.cap);
const PUBLISHERS = Number(values.publishers);
const WINDOW = Number(values.window);
const KEY = 'pk_bench_slow';
const MiB = 1024 * 1024;

async function runServer() {
  const { startServer } = await import('../dist/index.js');
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    maxOutboundBufferBytes: PER_SOCKET,
    heartbeatIntervalMs: 0,
    connections: {
      maxOutboundBytes: CAP,
      maxPerAddress: 100_000,
      maxPendingUpgradesPerAddress: 100_000,
      maxPendingUpgrades: 100_000,
    },
    apps: [
      {
        id: 'bench',
        publishableKeys: [{ key: KEY }],
        plan: { maxConcurrentConnections: 100_000, maxMessagesPerPeriod: 1_000_000_000 },
        limits: {
          maxMessageSize: Math.max(65_536, SIZE + 1024),
          messagesPerSecond: 1_000_000,
          messageBurst: 1_000_000,
          connectAttemptsPerIpPerMinute: 1_000_000,
          maxChannelsPerConnection: 100_000,
        },
      },
    ],
  });
  const peak = { rss: 0, heapAndExternal: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    peak.rss = Math.max(peak.rss, usage.rss);
    peak.heapAndExternal = Math.max(peak.heapAndExternal, usage.heapUsed + usage.external);
  };
  const sampler = setInterval(sample, 50);
  // The bench process went away (killed, or failed): do not outlive it.
  process.on('disconnect', () => process.exit(1));
  process.on('message', async (message) => {
    if (message !== 'report') return;
    sample();
    globalThis.gc?.();
    globalThis.gc?.();
    const usage = process.memoryUsage();
    const metrics = await server.metrics.render();
    const slow = /metered_closes_total\{code="1008"\} (\d+)/.exec(metrics)?.[1] ?? '0';
    process.send?.({
      peak,
      after: { rss: usage.rss, heapAndExternal: usage.heapUsed + usage.external },
      slowClosed: Number(slow),
    });
    clearInterval(sampler);
    await server.close();
    process.exit(0);
  });
  process.send?.({ url: server.url });
}

function open(url) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url}/v1?key=${KEY}`, { maxPayload: 64 * MiB });
    const pending = new Map();
    socket.pending = pending;
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'welcome') resolve(socket);
      const settle = frame.requestId === undefined ? undefined : pending.get(frame.requestId);
      if (settle) {
        pending.delete(frame.requestId);
        settle(frame);
      }
    });
    socket.once('error', reject);
    socket.once('close', (code) => {
      socket.closeCode = code;
      for (const settle of pending.values()) settle({ type: 'closed', code });
      pending.clear();
    });
  });
}

let nextId = 0;
function request(socket, frame) {
  const requestId = `r${nextId++}`;
  return new Promise((resolve) => {
    if (socket.readyState !== WebSocket.OPEN) return resolve({ type: 'closed' });
    socket.pending.set(requestId, resolve);
    socket.send(JSON.stringify({ ...frame, requestId }));
  });
}

async function runBench() {
  const child = fork(
    fileURLToPath(import.meta.url),
    [...process.argv.slice(2), '--role', 'server'],
    {
      execArgv: ['--expose-gc'],
    },
  );
  const fromChild = () => new Promise((resolve) => child.once('message', resolve));
  const { url } = await fromChild();
  const started = Date.now();
  const log = (text) =>
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${text}\n`);

  const consumers = [];
  for (let index = 0; index < CONSUMERS; index += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, CONSUMERS - index) }, () => open(url)),
    );
    await Promise.all(
      batch.map((socket, offset) =>
        request(socket, { type: 'subscribe', channel: `slow/${index + offset}` }),
      ),
    );
    // Stop reading: the kernel buffers fill, then the server's.
    for (const socket of batch) socket._socket.pause();
    consumers.push(...batch);
  }
  log(`${consumers.length} consumers subscribed and paused`);
  const healthy = await open(url);
  await request(healthy, { type: 'subscribe', channel: 'healthy' });
  let healthyReceived = 0;
  healthy.on('message', (data) => {
    if (data.toString().startsWith('{"type":"message"')) healthyReceived++;
  });

  const publishers = await Promise.all(Array.from({ length: PUBLISHERS }, () => open(url)));
  const data = 'x'.repeat(SIZE);
  let published = 0;
  let healthyPublished = 0;
  for (let round = 0; round < MESSAGES; round++) {
    await Promise.all(
      publishers.map(async (publisher, which) => {
        const inFlight = new Set();
        for (let channel = which; channel < CONSUMERS; channel += PUBLISHERS) {
          const sent = request(publisher, {
            type: 'publish',
            channel: `slow/${channel}`,
            data,
          }).then(() => inFlight.delete(sent));
          inFlight.add(sent);
          published++;
          if (inFlight.size >= WINDOW) await Promise.race(inFlight);
        }
        await Promise.all(inFlight);
      }),
    );
    await request(publishers[0], { type: 'publish', channel: 'healthy', data: round });
    healthyPublished++;
    if (round % 10 === 0) log(`round ${round}: ${published} published`);
  }
  // Every healthy message was acked after its fan-out; a ping round trip lets the last arrive.
  await new Promise((resolve) => {
    healthy.once('pong', resolve);
    healthy.ping();
  });
  child.send('report');
  const report = await fromChild();
  const seconds = (Date.now() - started) / 1000;
  for (const socket of [...consumers, healthy, ...publishers]) socket.terminate();

  const mib = (bytes) => `${(bytes / MiB).toFixed(0)} MiB`;
  const cap = CAP === Number.MAX_SAFE_INTEGER ? 'none' : mib(CAP);
  console.log(
    `| ${cap} | ${mib(PER_SOCKET)} | ${CONSUMERS} × ${MESSAGES} × ${SIZE / 1024} KiB | ` +
      `${((published * SIZE) / 1024 / MiB).toFixed(1)} GiB | ${mib(report.peak.rss)} | ` +
      `${mib(report.peak.heapAndExternal)} | ${mib(report.after.heapAndExternal)} | ` +
      `${report.slowClosed} | ${healthyReceived}/${healthyPublished} | ${seconds.toFixed(0)} s |`,
  );
}

if (values.role === 'server') await runServer();
else await runBench();
