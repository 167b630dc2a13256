#!/usr/bin/env node
// A call across its signalling: two Node peers on @metered/node-webrtc-adapter, one streaming a
// numbered data-channel message every 20 ms to the other, while their signalling goes through
//   restart — the server closed and started again on the same port;
//   tokens  — 3-second tokens for ~10 s (every expiry closes the socket with 4002);
//   cut     — the sender's signalling link cut once (a TCP relay in front of the server).
// For each, ours (@metered/peer's MeteredPeer) beside the vendor SDK (@metered-ca/realtime's
// MeteredPeer on the same adapter and on `ws` with a browser's event delivery).
//
// Measured per run, at the receiving end:
//   gap  — the longest time between two consecutive received messages (a stream that never
//          resumes counts up to the last send);
//   lost — messages sent but never received: a send that threw or found no open channel, or a
//          message that never arrived.
// The app does what each SDK documents after a replaced connection: on ConnectionReset (ours) /
// `connection-reset` (vendor), or a new RemotePeer for the same member, the sender opens a new
// data channel and sends on it from then on; a channel that closes under it is opened again on
// the remote's current connection; the receiver listens on every channel it is given.
// Messages produced while no channel is open are lost (they are not queued). Both SDKs get the
// same reconnect backoff (200 ms initial delay, ×2, at most 1 s, ±20 %).
//
// A run streams 2 s, then the event, then until 12 s after the event started (past our 10 s hold
// of members reported gone), at least until the stream resumed (bounded by --timeout), then
// drains 1 s. Everything runs in this process on 127.0.0.1.
//
// Build first: node scripts/pnpm.mjs exec turbo run build --filter=@metered/bench...
// Usage: node bench/call-continuity.mjs [--quick] [--runs N] [--timeout MS] [--out FILE]
//        [--events restart,tokens,cut]
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { MeteredPeer as VendorMeteredPeer } from '@metered-ca/realtime';
import { rtcPeerConnectionFactory } from '@metered/node-webrtc-adapter';
import {
  ConnectionReset,
  DataChannelOpened,
  MeteredPeer,
  PeerJoined,
  PeerLeft,
} from '@metered/peer';
import { signToken, startServer } from '@metered/server';
import { createBrowserLikeWebSocketFactory } from '@metered/signalling/testing';
import WebSocket from 'ws';
import {
  commandLine,
  formatNumber,
  formatSummary,
  loadAverage,
  log,
  machineLine,
  markdownTable,
  options,
  sleep,
  spawnChild,
  until,
} from './lib/common.mjs';

const opts = options(
  { runs: [3, 1], timeout: [30_000, 20_000] },
  { out: { type: 'string' }, events: { type: 'string' }, child: { type: 'string' } },
);
const RUNS = Math.max(1, Math.min(20, Math.floor(opts.runs)));
const TIMEOUT_MS = Math.max(5_000, opts.timeout);
const INTERVAL_MS = 20;
const BEFORE_MS = 2_000;
const AFTER_EVENT_START_MS = 12_000;
const TOKEN_RUN_MS = 10_000;
const DRAIN_MS = 1_000;
const SECRET_KEY = { id: 'sk_bench_calls', secret: 'bench-call-continuity-secret' };
const ACTIONS = ['subscribe', 'publish', 'presence', 'send'];
const RECONNECT = {
  initialDelayMs: 200,
  maxDelayMs: 1_000,
  multiplier: 2,
  jitterRatio: 0.2,
  maxAttempts: 50,
};

function startBenchServer(port = 0) {
  return startServer({
    host: '127.0.0.1',
    port,
    drainTimeoutMs: 1_000,
    shutdownRetryAfterMs: 100,
    apps: [
      {
        id: 'bench-calls',
        secretKeys: [{ ...SECRET_KEY, channelPatterns: ['**'] }],
        limits: { messagesPerSecond: 2_000, messageBurst: 4_000 },
      },
    ],
  });
}

function mintToken(peerId, lifetimeSec) {
  const now = Math.floor(Date.now() / 1000);
  return signToken(
    { ...SECRET_KEY, channelPatterns: ['**'], actions: ACTIONS },
    {
      peerId,
      channels: ['**'],
      permissions: ACTIONS,
      issuedAt: now,
      expiresAt: now + lifetimeSec,
    },
  );
}

const loopback = (configuration = {}) =>
  rtcPeerConnectionFactory({ ...configuration, bindAddress: '127.0.0.1' });

/** A TCP relay in front of the server whose links can be cut. */
async function startRelay(targetPort) {
  const links = new Set();
  const listener = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    links.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      links.delete(client);
      links.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const socket of links) socket.destroy();
  };
  return {
    url: `ws://127.0.0.1:${listener.address().port}`,
    cut,
    close: () =>
      new Promise((resolve) => {
        cut();
        listener.close(() => resolve());
      }),
  };
}

// ---- the two SDKs behind one shape ----
// `sender(onRemote)` / `receiver(onChannel)` wire the app's reaction to the SDK's events:
// `onRemote(open)` is called with a function that opens a channel on the current connection,
// every time the app must open one (first contact, a replaced connection, a new RemotePeer).

const browserLikeWebSockets = createBrowserLikeWebSocketFactory(WebSocket);

const ours = {
  name: '@metered/peer',
  create: (url, peerId, lifetimeSec) =>
    new MeteredPeer({
      url,
      tokenProvider: () => mintToken(peerId, lifetimeSec),
      rtcPeerConnectionFactory: loopback,
      reconnect: RECONNECT,
    }),
  wire(local, otherId, counters, { onOpen, onChannel }) {
    const attach = (remote) => {
      if (remote.id !== otherId) return;
      remote.on(ConnectionReset, () => {
        counters.resets += 1;
        onOpen?.(() => remote.createDataChannel('numbers'));
      });
      remote.on(DataChannelOpened, ({ channel }) => onChannel?.(channel));
      onOpen?.(() => remote.createDataChannel('numbers'));
    };
    local.on(PeerJoined, ({ peer }) => attach(peer));
    local.on(PeerLeft, () => {
      counters.left += 1;
    });
    const known = local.remotePeers.get(otherId);
    if (known) attach(known);
  },
  sees: (local, otherId) => local.remotePeers.has(otherId),
  state: (local) => local.state,
  close: (local) => local.close(),
};

const vendor = {
  name: '@metered-ca/realtime 1.2.0',
  create: (url, peerId, lifetimeSec) =>
    new VendorMeteredPeer({
      url,
      tokenProvider: () => mintToken(peerId, lifetimeSec),
      webSocketFactory: browserLikeWebSockets,
      rtcPeerConnectionFactory: loopback,
      reconnect: RECONNECT,
    }),
  wire(local, otherId, counters, { onOpen, onChannel }) {
    const attach = (remote) => {
      if (remote.id !== otherId) return;
      // Its docs: data channels opened on `remote.pc` are gone after `connection-reset`;
      // re-create them there.
      remote.on('connection-reset', () => {
        counters.resets += 1;
        onOpen?.(() => remote.pc.createDataChannel('numbers'));
      });
      remote.on('data-channel', ({ channel }) => onChannel?.(channel));
      onOpen?.(() => remote.pc.createDataChannel('numbers'));
    };
    local.on('peer-joined', ({ peer }) => attach(peer));
    local.on('peer-left', () => {
      counters.left += 1;
    });
    const known = local.remotePeers.find((remote) => remote.id === otherId);
    if (known) attach(known);
  },
  sees: (local, otherId) => local.remotePeers.some((remote) => remote.id === otherId),
  state: (local) => local.state,
  close: (local) => local.close(),
};

// ---- one run ----

async function run(sdk, event, index) {
  const cleanups = [];
  try {
    let server = await startBenchServer();
    const port = server.port;
    cleanups.push(() => server.close());
    const relay = event === 'cut' ? await startRelay(port) : undefined;
    if (relay) cleanups.push(() => relay.close());
    const lifetimeSec = event === 'tokens' ? 3 : 3600;
    const senderId = `sender-${event}-${index}`;
    const receiverId = `receiver-${event}-${index}`;
    const sender = sdk.create(relay?.url ?? server.url, senderId, lifetimeSec);
    const receiver = sdk.create(server.url, receiverId, lifetimeSec);
    cleanups.push(
      () => sdk.close(sender),
      () => sdk.close(receiver),
    );
    const counters = { resets: 0, left: 0, reopened: 0 };

    // Receiver: every channel it is given delivers into one record.
    const arrivals = [];
    const seen = new Set();
    sdk.wire(receiver, senderId, counters, {
      onChannel: (channel) =>
        channel.addEventListener('message', (message) => {
          const n = Number(message.data);
          if (seen.has(n)) return;
          seen.add(n);
          arrivals.push(performance.now());
        }),
    });
    // Sender: sends on the newest channel it opened. A channel that closes under it is opened
    // again on the remote's current connection (if that one can still open channels).
    let channel;
    let openOnCurrent;
    let stopped = false;
    const openChannel = (open) => {
      const opened = open();
      opened.addEventListener('close', () => {
        if (opened !== channel || stopped) return;
        try {
          channel = openChannel(openOnCurrent);
          counters.reopened += 1;
        } catch {
          // the connection is closed too: wait for the SDK's next event
        }
      });
      return opened;
    };
    sdk.wire(sender, receiverId, counters, {
      onOpen: (open) => {
        openOnCurrent = open;
        channel = openChannel(open);
      },
    });
    cleanups.push(() => {
      stopped = true;
    });

    const room = `calls-${event}-${index}`;
    await sender.join(room);
    await receiver.join(room);
    await until(
      () => sdk.sees(sender, receiverId) && sdk.sees(receiver, senderId),
      TIMEOUT_MS,
      'both peers see each other',
    );
    await until(() => channel?.readyState === 'open', TIMEOUT_MS, 'the channel open');

    let sent = 0;
    let failed = 0;
    let lastSendAt = 0;
    const numbers = setInterval(() => {
      const n = sent++;
      lastSendAt = performance.now();
      if (channel?.readyState !== 'open') {
        failed += 1;
        return;
      }
      try {
        channel.send(String(n));
      } catch {
        failed += 1;
      }
    }, INTERVAL_MS);
    cleanups.push(() => clearInterval(numbers));
    await until(() => arrivals.length > 5, TIMEOUT_MS, 'the stream flowing');
    await sleep(BEFORE_MS);

    const eventAt = performance.now();
    if (event === 'restart') {
      await server.close();
      server = await startBenchServer(port);
    } else if (event === 'cut') {
      relay.cut();
    }
    const endAt = eventAt + (event === 'tokens' ? TOKEN_RUN_MS : AFTER_EVENT_START_MS);
    let recovered = true;
    try {
      await until(
        () =>
          sdk.state(sender) === 'joined' &&
          sdk.state(receiver) === 'joined' &&
          arrivals.length > 0 &&
          (arrivals.at(-1) ?? 0) > eventAt + 500 &&
          performance.now() >= endAt,
        endAt - performance.now() + TIMEOUT_MS,
        'the stream resumed',
      );
    } catch {
      recovered = false;
    }
    clearInterval(numbers);
    await sleep(DRAIN_MS);

    let gap = 0;
    for (let i = 1; i < arrivals.length; i++) gap = Math.max(gap, arrivals[i] - arrivals[i - 1]);
    gap = Math.max(gap, lastSendAt - (arrivals.at(-1) ?? eventAt));
    return {
      gapMs: gap,
      lost: sent - seen.size,
      sent,
      failed,
      resets: counters.resets,
      left: counters.left,
      reopened: counters.reopened,
      recovered,
    };
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // closing what is already closed
      }
    }
    browserLikeWebSockets.terminateAll();
  }
}

// ---- main ----
// Each run is a process of its own: a native abort in one run (node-datachannel throws
// `std::logic_error` on some descriptions, which ends the process) is counted, not fatal.

const sdks = [ours, vendor];

if (opts.child) {
  const [s, event, index] = opts.child.split(':');
  const result = await run(sdks[Number(s)], event, Number(index));
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
} else {
  await main();
}

async function runInChild(s, event, index) {
  const child = spawnChild(process.execPath, [
    process.argv[1],
    '--child',
    `${s}:${event}:${index}`,
    '--timeout',
    String(TIMEOUT_MS),
  ]);
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  const [code, signal] = await new Promise((resolve) =>
    child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
  );
  if (code === 0) return JSON.parse(output.trim().split('\n').at(-1));
  return { aborted: `${signal ?? `exit ${code}`}` };
}

async function main() {
  const events = [
    ['restart', 'server restart'],
    ['tokens', '3-second tokens for 10 s'],
    ['cut', "sender's link cut once"],
  ].filter(([event]) => !opts.events || opts.events.split(',').includes(event));
  const loadBefore = loadAverage();
  const results = events.map(() => sdks.map(() => []));
  for (let round = 0; round < RUNS; round++) {
    for (const [e, [event, label]] of events.entries()) {
      for (const [s, sdk] of sdks.entries()) {
        const result = await runInChild(s, event, round);
        results[e][s].push(result);
        log(
          result.aborted
            ? `${label}, ${sdk.name}, run ${round + 1}: the process aborted (${result.aborted})`
            : `${label}, ${sdk.name}, run ${round + 1}: gap ${formatNumber(result.gapMs)} ms, lost ${result.lost} of ${result.sent} (send failed ${result.failed}), resets ${result.resets}, left ${result.left}, reopened on close ${result.reopened}${result.recovered ? '' : ', NOT recovered'}`,
        );
      }
    }
  }
  const loadAfter = loadAverage();

  const rows = [];
  for (const [e, [, label]] of events.entries()) {
    for (const [s, sdk] of sdks.entries()) {
      const all = results[e][s];
      const list = all.filter((result) => !result.aborted);
      const notRecovered = list.filter((result) => !result.recovered).length;
      const aborted = all.length - list.length;
      const of = (pick) => (list.length ? formatSummary(list.map(pick)) : 'n/a');
      rows.push([
        label,
        sdk.name,
        of((result) => result.gapMs),
        of((result) => result.lost),
        of((result) => result.sent),
        `${of((result) => result.resets)} / ${of((result) => result.left)}`,
        `${list.length - notRecovered} of ${all.length}`,
        String(aborted),
      ]);
    }
  }
  const table = markdownTable(
    [
      'event',
      'SDK',
      'longest gap, ms',
      'messages lost',
      'messages sent',
      'connection resets / members left',
      'stream resumed',
      'process aborted',
    ],
    rows,
    ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  const output = [
    `A numbered data-channel message every ${INTERVAL_MS} ms between two Node peers on the adapter, across signalling events; median (min – max) of the runs that did not abort, ${RUNS} runs per cell.`,
    '',
    `${machineLine()}; load average before the runs ${loadBefore}, after ${loadAfter}.`,
    '',
    table,
    '',
    `Command: \`${commandLine()}\``,
  ].join('\n');
  if (opts.out) writeFileSync(opts.out, `${output}\n`);
  process.stdout.write(`${output}\n`, () => process.exit(0));
}
