#!/usr/bin/env node
// Data-channel throughput on loopback: @metered/datachannel's DataChannel on
// @metered/node-webrtc-adapter against raw node-datachannel with the same backpressure.
//
// Two workloads, each on a fresh connected pair per run (connect time not counted):
//   bulk  — `--mib` MiB as `--chunk`-byte binary messages, reported in MB/s (10^6 bytes/s);
//   small — `--messages` binary messages of `--size` bytes, reported in messages/s.
// A run is timed from the first send to the last message counted at the receiving end. Both
// ends live in this process, so JavaScript on both sides shares one thread (node-datachannel's
// own threads do the network work).
//
// Backpressure is the same in both variants: a send waits while `bufferedAmount + size` would
// exceed 1 MiB, and resumes on `bufferedamountlow` at 512 KiB (the wrapper's defaults).
//   raw     — node-datachannel's own PeerConnection / DataChannel, `sendMessageBinary`,
//             `onBufferedAmountLow`, `onMessage`;
//   wrapper — `new DataChannel(pc.createDataChannel(…))` on both ends of an adapter pair,
//             `await dc.send(chunk)` for every message, `dc.on(DCMessage, …)` at the receiver.
//
// Variants are interleaved run by run (after one warm-up run each), so load on the machine hits
// both alike. Every run is bounded by `--timeout` ms; only 127.0.0.1 is used.
//
// Build first: node scripts/pnpm.mjs exec turbo run build --filter=@metered/bench...
// Usage: node bench/datachannel.mjs [--quick] [--runs N] [--mib N] [--chunk N] [--messages N]
//        [--size N] [--timeout MS] [--out FILE]
import { writeFileSync } from 'node:fs';
import { DataChannel, DCMessage } from '@metered/datachannel';
import { RTCPeerConnection } from '@metered/node-webrtc-adapter';
import nodeDataChannel from 'node-datachannel';
import {
  commandLine,
  formatNumber,
  formatSummary,
  loadAverage,
  log,
  machineLine,
  markdownTable,
  options,
  summary,
  withTimeout,
} from './lib/common.mjs';

const opts = options(
  {
    runs: [5, 2],
    mib: [64, 8],
    chunk: [16_384, 16_384],
    messages: [200_000, 20_000],
    size: [100, 100],
    timeout: [120_000, 60_000],
  },
  { out: { type: 'string' } },
);
const RUNS = Math.max(1, Math.min(50, Math.floor(opts.runs)));
const CHUNK = Math.max(1, Math.min(65_536, Math.floor(opts.chunk)));
const BULK_BYTES = Math.max(1, Math.min(1024, opts.mib)) * 1024 * 1024;
const BULK_MESSAGES = Math.ceil(BULK_BYTES / CHUNK);
const SMALL = Math.max(1, Math.min(65_536, Math.floor(opts.size)));
const SMALL_MESSAGES = Math.max(1, Math.min(5_000_000, Math.floor(opts.messages)));
const TIMEOUT_MS = Math.max(1_000, opts.timeout);
const CONNECT_TIMEOUT_MS = 10_000;
const MAX_BUFFERED = 1024 * 1024;
const LOW_WATER = MAX_BUFFERED / 2;
const LOOPBACK = { iceServers: [], bindAddress: '127.0.0.1' };

// ---- raw node-datachannel ----

async function rawPair() {
  const a = new nodeDataChannel.PeerConnection('bench-a', LOOPBACK);
  const b = new nodeDataChannel.PeerConnection('bench-b', LOOPBACK);
  a.onLocalDescription((sdp, type) => b.setRemoteDescription(sdp, type));
  a.onLocalCandidate((candidate, mid) => b.addRemoteCandidate(candidate, mid));
  b.onLocalDescription((sdp, type) => a.setRemoteDescription(sdp, type));
  b.onLocalCandidate((candidate, mid) => a.addRemoteCandidate(candidate, mid));
  const remote = new Promise((resolve) => {
    b.onDataChannel((channel) => {
      if (channel.isOpen()) resolve(channel);
      else channel.onOpen(() => resolve(channel));
    });
  });
  const local = a.createDataChannel('bench');
  const localOpen = new Promise((resolve) => local.onOpen(resolve));
  let channel;
  const close = () => {
    channel?.close();
    local.close();
    a.close();
    b.close();
  };
  try {
    [channel] = await withTimeout(
      Promise.all([remote, localOpen]),
      CONNECT_TIMEOUT_MS,
      'raw pair to connect',
    );
    return { local, remote: channel, close };
  } catch (error) {
    close();
    throw error;
  }
}

async function rawRun(count, size) {
  const { local, remote, close } = await rawPair();
  try {
    let received = 0;
    let bytes = 0;
    let finish;
    const done = new Promise((resolve) => (finish = resolve));
    remote.onMessage((message) => {
      bytes += message.length;
      if (++received === count) finish();
    });
    let wake;
    local.setBufferedAmountLowThreshold(LOW_WATER);
    local.onBufferedAmountLow(() => {
      const resolve = wake;
      wake = undefined;
      resolve?.();
    });
    const payload = new Uint8Array(size);
    const limit = MAX_BUFFERED - size;
    const start = performance.now();
    const send = async () => {
      for (let index = 0; index < count; index++) {
        if (local.bufferedAmount() > limit) {
          const drained = new Promise((resolve) => (wake = resolve));
          // Re-checked after arming, so a drain in between is not missed.
          if (local.bufferedAmount() > limit) await drained;
          else wake = undefined;
        }
        local.sendMessageBinary(payload);
      }
    };
    await withTimeout(Promise.all([send(), done]), TIMEOUT_MS, 'raw transfer');
    const seconds = (performance.now() - start) / 1000;
    if (bytes !== count * size) throw new Error(`raw: ${bytes} bytes arrived, not ${count * size}`);
    return seconds;
  } finally {
    close();
  }
}

// ---- @metered/datachannel on the adapter ----

async function adapterPair() {
  const a = new RTCPeerConnection(LOOPBACK);
  const b = new RTCPeerConnection(LOOPBACK);
  a.onicecandidate = ({ candidate }) => void b.addIceCandidate(candidate).catch(() => {});
  b.onicecandidate = ({ candidate }) => void a.addIceCandidate(candidate).catch(() => {});
  const remote = new Promise((resolve) => {
    b.ondatachannel = ({ channel }) => {
      if (channel.readyState === 'open') resolve(channel);
      else channel.addEventListener('open', () => resolve(channel), { once: true });
    };
  });
  const local = a.createDataChannel('bench');
  const localOpen = new Promise((resolve) =>
    local.addEventListener('open', resolve, { once: true }),
  );
  const close = () => {
    a.close();
    b.close();
  };
  try {
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription);
    const [channel] = await withTimeout(
      Promise.all([remote, localOpen]),
      CONNECT_TIMEOUT_MS,
      'adapter pair to connect',
    );
    return { local, remote: channel, close };
  } catch (error) {
    close();
    throw error;
  }
}

async function wrapperRun(count, size) {
  const pair = await adapterPair();
  const sender = new DataChannel(pair.local, { maxBufferedAmount: MAX_BUFFERED });
  const receiver = new DataChannel(pair.remote);
  try {
    let received = 0;
    let bytes = 0;
    let finish;
    const done = new Promise((resolve) => (finish = resolve));
    receiver.on(DCMessage, ({ data }) => {
      bytes += data.byteLength;
      if (++received === count) finish();
    });
    const payload = new Uint8Array(size);
    const start = performance.now();
    const send = async () => {
      for (let index = 0; index < count; index++) await sender.send(payload);
    };
    await withTimeout(Promise.all([send(), done]), TIMEOUT_MS, 'wrapper transfer');
    const seconds = (performance.now() - start) / 1000;
    if (bytes !== count * size) {
      throw new Error(`wrapper: ${bytes} bytes arrived, not ${count * size}`);
    }
    return seconds;
  } finally {
    sender.close();
    receiver.close();
    pair.close();
  }
}

// ---- runs ----

const variants = [
  ['raw node-datachannel, same backpressure', rawRun],
  ['@metered/datachannel on the adapter', wrapperRun],
];
const workloads = [
  {
    name: `${formatNumber(BULK_BYTES / 1024 / 1024)} MiB as ${formatNumber(CHUNK)} B messages`,
    unit: 'MB/s',
    count: BULK_MESSAGES,
    size: CHUNK,
    rate: (seconds) => (BULK_MESSAGES * CHUNK) / seconds / 1e6,
    digits: 1,
  },
  {
    name: `${formatNumber(SMALL_MESSAGES)} × ${formatNumber(SMALL)} B messages`,
    unit: 'messages/s',
    count: SMALL_MESSAGES,
    size: SMALL,
    rate: (seconds) => SMALL_MESSAGES / seconds,
    digits: 0,
  },
];

log(machineLine());
const loadBefore = loadAverage();
const results = workloads.map(() => variants.map(() => []));
for (const [w, workload] of workloads.entries()) {
  for (const [name, run] of variants) {
    log(`warm-up: ${workload.name}, ${name}`);
    await run(Math.max(1, Math.floor(workload.count / 8)), workload.size);
  }
  for (let round = 0; round < RUNS; round++) {
    for (const [v, [name, run]] of variants.entries()) {
      const seconds = await run(workload.count, workload.size);
      const rate = workload.rate(seconds);
      results[w][v].push(rate);
      log(
        `${workload.name}, ${name}, run ${round + 1}: ${formatNumber(rate, workload.digits)} ${workload.unit}`,
      );
    }
  }
}
const loadAfter = loadAverage();

const rows = [];
for (const [w, workload] of workloads.entries()) {
  const rawMedian = summary(results[w][0]).median;
  for (const [v, [name]] of variants.entries()) {
    const { median } = summary(results[w][v]);
    rows.push([
      workload.name,
      name,
      `${formatSummary(results[w][v], workload.digits)} ${workload.unit}`,
      v === 0 ? '100 %' : `${formatNumber((median / rawMedian) * 100)} %`,
    ]);
  }
}
const table = markdownTable(
  ['workload', 'variant', `median (min – max) of ${RUNS} runs`, 'of raw'],
  rows,
  ['left', 'left', 'right', 'right'],
);
const output = [
  `Data-channel throughput on loopback, ${RUNS} runs per variant (after one warm-up run each).`,
  '',
  `${machineLine()}; load average before the runs ${loadBefore}, after ${loadAfter}.`,
  '',
  table,
  '',
  `Command: \`${commandLine()}\``,
].join('\n');
if (opts.out) writeFileSync(opts.out, `${output}\n`);
// Raw node-datachannel pairs keep the process alive after they closed (no JavaScript handle is
// left, the adapter's pairs do not do this): end once the table is out.
process.stdout.write(`${output}\n`, () => process.exit(0));
