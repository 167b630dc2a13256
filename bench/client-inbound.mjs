#!/usr/bin/env node
// Inbound frames handled per second by a signalling client: a fake socket pushes N identical
// `message` frames (strings, one synchronous burst) into a connected, subscribed client, and the
// run ends when the listener has been called N times.
//
//   @metered/signalling   SignallingClient on the fake socket of @metered/signalling/testing
//   vendor SDK            @metered-ca/realtime's SignallingClient on a fake passed as webSocketFactory
//   JSON.parse + callback the limit: parse each frame and call one function with it
//
// Usage (after building @metered/signalling and its dependencies):
//   node bench/client-inbound.mjs [--frames 200000] [--runs 7] [--quick]
// `--quick` is 20,000 frames × 3 runs. Prints a markdown table.
import { Message, SignallingClient } from '@metered/signalling';
import { createFakeWebSocketFactory } from '@metered/signalling/testing';
import { SignallingClient as VendorClient } from '@metered-ca/realtime';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { CHANNEL, FRAME, WELCOME } from './client-inbound-frames.mjs';

const { values } = parseArgs({
  options: {
    frames: { type: 'string' },
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'max-seconds': { type: 'string', default: '120' },
  },
});
const FRAMES = Number(values.frames ?? (values.quick ? 20_000 : 200_000));
const RUNS = Number(values.runs ?? (values.quick ? 3 : 7));
/** The whole benchmark stops starting new runs after this long. */
const DEADLINE = Date.now() + Number(values['max-seconds']) * 1000;

const nextTask = () => new Promise((resolve) => setImmediate(resolve));

/** Answers each request the client sends with an ack, as a server would. */
function ackRequests(sent, deliver) {
  for (const text of sent.splice(0)) {
    const { requestId } = JSON.parse(text);
    if (requestId) deliver(JSON.stringify({ type: 'ack', requestId }));
  }
}

/** Ours: `createFakeWebSocketFactory` from `@metered/signalling/testing`. */
async function setupOurs(onMessage) {
  const factory = createFakeWebSocketFactory();
  const client = new SignallingClient({
    apiKey: 'pk_bench',
    webSocketFactory: factory,
    inactivityTimeoutMs: 60_000,
  });
  client.on(Message, onMessage);
  const connected = client.connect();
  await nextTask();
  const socket = factory.last;
  socket.open().deliver(WELCOME);
  await connected;
  const subscribed = client.subscribe(CHANNEL);
  ackRequests(socket.sent, (frame) => socket.deliver(frame));
  await subscribed;
  await nextTask();
  const onmessage = socket.onmessage;
  const event = { data: FRAME };
  return {
    push(count) {
      for (let index = 0; index < count; index++) onmessage(event);
    },
    close: () => client.close(),
  };
}

/** A WebSocket with the `addEventListener` surface the vendor's client uses. */
class VendorFakeSocket {
  readyState = 0;
  sent = [];
  #listeners = { open: [], message: [], close: [], error: [] };
  constructor(url) {
    this.url = url;
  }
  addEventListener(type, listener) {
    this.#listeners[type]?.push(listener);
  }
  removeEventListener(type, listener) {
    const list = this.#listeners[type];
    if (list) this.#listeners[type] = list.filter((entry) => entry !== listener);
  }
  dispatch(type, event) {
    for (const listener of this.#listeners[type]) listener(event);
  }
  send(data) {
    if (this.readyState === 1) this.sent.push(data);
  }
  close(code = 1000, reason = '') {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    queueMicrotask(() => this.dispatch('close', { code, reason }));
  }
  open() {
    this.readyState = 1;
    this.dispatch('open', { type: 'open' });
  }
  deliver(data) {
    this.dispatch('message', { data });
  }
  messageListener() {
    const [listener] = this.#listeners.message;
    return listener;
  }
}

async function setupVendor(onMessage) {
  let socket;
  const client = new VendorClient({
    apiKey: 'pk_bench',
    webSocketFactory: (url) => (socket = new VendorFakeSocket(url)),
    inactivityTimeoutMs: 60_000,
  });
  client.on('message', onMessage);
  const connected = client.connect();
  for (let tries = 0; !socket && tries < 100; tries++) await nextTask();
  if (!socket) throw new Error('the vendor client opened no socket');
  socket.open();
  socket.deliver(WELCOME);
  await connected;
  const subscribed = client.subscribe(CHANNEL);
  for (let tries = 0; socket.sent.length === 0 && tries < 100; tries++) await nextTask();
  ackRequests(socket.sent, (frame) => socket.deliver(frame));
  await subscribed;
  await nextTask();
  const listener = socket.messageListener();
  const event = { data: FRAME };
  return {
    push(count) {
      for (let index = 0; index < count; index++) listener(event);
    },
    close: () => client.close(),
  };
}

/** The limit: `JSON.parse` and one callback per frame. */
async function setupBaseline(onMessage) {
  return {
    push(count) {
      for (let index = 0; index < count; index++) onMessage(JSON.parse(FRAME));
    },
    close: async () => {},
  };
}

const CLIENTS = [
  { name: '@metered/signalling', setup: setupOurs },
  { name: 'vendor SDK (@metered-ca/realtime)', setup: setupVendor },
  { name: 'JSON.parse + a callback (limit)', setup: setupBaseline },
];

/**
 * One run: a fresh client, N frames pushed; frames per second of the process's CPU time (what
 * other processes on a shared machine disturb least) and of wall-clock time.
 */
async function run(setup) {
  let received = 0;
  const target = await setup(() => {
    received += 1;
  });
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  target.push(FRAMES);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const { user, system } = process.cpuUsage(cpuBefore);
  await target.close();
  if (received !== FRAMES) throw new Error(`listener called ${received} times, not ${FRAMES}`);
  return { cpu: FRAMES / ((user + system) / 1e6), wall: FRAMES / elapsed };
}

const median = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const format = (value) => Math.round(value).toLocaleString('en-US');

const runs = new Map(CLIENTS.map(({ name }) => [name, []]));
// One warm-up run each, then the runs interleaved so that load spikes spread over every client.
for (const { setup } of CLIENTS) await run(setup);
for (let index = 0; index < RUNS && Date.now() < DEADLINE; index++) {
  for (const { name, setup } of CLIENTS) runs.get(name).push(await run(setup));
}

const cpu = cpus();
const load = loadavg()
  .map((value) => value.toFixed(1))
  .join(' ');
const count = runs.get(CLIENTS[0].name).length;
console.log(
  `Client inbound frames handled/s, ${format(FRAMES)} \`message\` frames of ${FRAME.length} characters per run, ${count} runs (after a warm-up run).`,
);
console.log();
console.log(
  `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, load average ${load} at the end.`,
);
console.log();
const of = (name, key) => runs.get(name).map((result) => result[key]);
const rows = CLIENTS.map(({ name }) => {
  const cpuRates = of(name, 'cpu');
  const wallRates = of(name, 'wall');
  return [
    name,
    format(median(cpuRates)),
    `${format(Math.min(...cpuRates))} – ${format(Math.max(...cpuRates))}`,
    format(median(wallRates)),
    `${format(Math.min(...wallRates))} – ${format(Math.max(...wallRates))}`,
  ];
});
const header = [
  'client',
  'frames/s, CPU time (median)',
  'min – max',
  'frames/s, wall clock (median)',
  'min – max',
];
const widths = header.map((title, column) =>
  Math.max(title.length, ...rows.map((row) => row[column].length)),
);
const line = (cells) =>
  `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join(' | ')} |`;
console.log(line(header));
console.log(
  `| ${widths.map((width, column) => (column === 0 ? '-'.repeat(width) : `${'-'.repeat(width - 1)}:`)).join(' | ')} |`,
);
for (const row of rows) console.log(line(row));
console.log();
for (const key of ['cpu', 'wall']) {
  const [ours, vendor, limit] = CLIENTS.map(({ name }) => median(of(name, key)));
  console.log(
    `${key === 'cpu' ? 'CPU time' : 'Wall clock'}: @metered/signalling ${(ours / vendor).toFixed(2)}× the vendor SDK, ${(ours / limit).toFixed(2)}× the limit.`,
  );
}
