#!/usr/bin/env node
// Client inbound frames/s of two builds of @metered/signalling in one process, alternated round by
// round (less disturbed by a shared machine than separate processes): the current build
// (packages/signalling/dist) against a saved one. Same frames and fake socket as
// bench/client-inbound.mjs; rates per second of CPU time.
//
// Usage: save the base build where its imports resolve, rebuild, then compare:
//   cp -r packages/signalling/dist packages/signalling/node_modules/.dist-base
//   (change, then) node scripts/pnpm.mjs exec turbo run build --filter=@metered/signalling
//   node bench/client-inbound-builds.mjs [rounds=20]
import { fileURLToPath } from 'node:url';
import { FRAME, WELCOME } from './client-inbound-frames.mjs';

const root = fileURLToPath(new URL('../packages/signalling', import.meta.url));
const ROUNDS = Number(process.argv[2] ?? 10),
  FRAMES = 200_000;
const nextTask = () => new Promise((r) => setImmediate(r));
async function load(dir) {
  const m = await import(`${root}/${dir}/index.js`);
  const t = await import(`${root}/${dir}/testing.js`);
  return { ...m, ...t };
}
const builds = { base: await load('node_modules/.dist-base'), new: await load('dist') };
async function setup(b, onMessage) {
  const factory = b.createFakeWebSocketFactory();
  const client = new b.SignallingClient({
    apiKey: 'pk_bench',
    webSocketFactory: factory,
    inactivityTimeoutMs: 60_000,
  });
  client.on(b.Message, onMessage);
  const connected = client.connect();
  await nextTask();
  const socket = factory.last;
  socket.open().deliver(WELCOME);
  await connected;
  const subscribed = client.subscribe('room-1');
  for (const text of socket.sent.splice(0)) {
    const { requestId } = JSON.parse(text);
    if (requestId) socket.deliver(JSON.stringify({ type: 'ack', requestId }));
  }
  await subscribed;
  await nextTask();
  const onmessage = socket.onmessage,
    event = { data: FRAME };
  return {
    push(n) {
      for (let i = 0; i < n; i++) onmessage(event);
    },
    close: () => client.close(),
  };
}
async function run(b) {
  let got = 0;
  const t = await setup(b, () => {
    got++;
  });
  const c0 = process.cpuUsage();
  t.push(FRAMES);
  const { user, system } = process.cpuUsage(c0);
  await t.close();
  if (got !== FRAMES) throw new Error('count');
  return FRAMES / ((user + system) / 1e6);
}
async function limit() {
  let got = 0;
  const f = () => {
    got++;
  };
  const c0 = process.cpuUsage();
  for (let i = 0; i < FRAMES; i++) f(JSON.parse(FRAME));
  const { user, system } = process.cpuUsage(c0);
  if (got !== FRAMES) throw new Error('count');
  return FRAMES / ((user + system) / 1e6);
}
const res = { base: [], new: [], limit: [] };
await run(builds.base);
await run(builds.new);
await limit();
for (let i = 0; i < ROUNDS; i++) {
  const order = i % 2 ? ['new', 'base'] : ['base', 'new'];
  for (const k of order) res[k].push(await run(builds[k]));
  res.limit.push(await limit());
}
const med = (l) => {
  const s = [...l].sort((a, b) => a - b),
    m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ratios = res.new.map((v, i) => v / res.base[i]);
const f = (v) => Math.round(v).toLocaleString('en-US');
for (const k of ['base', 'new', 'limit'])
  console.log(
    k === 'limit' ? 'JSON.parse + callback' : k,
    f(med(res[k])),
    `(${f(Math.min(...res[k]))} – ${f(Math.max(...res[k]))})`,
  );
console.log(
  'new/base per round: median',
  med(ratios).toFixed(3),
  'min',
  Math.min(...ratios).toFixed(3),
  'max',
  Math.max(...ratios).toFixed(3),
);
console.log(
  'base/limit',
  (med(res.base) / med(res.limit)).toFixed(3),
  'new/limit',
  (med(res.new) / med(res.limit)).toFixed(3),
);
