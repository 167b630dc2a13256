import {
  Connected,
  Disconnected,
  Message,
  Presence,
  Resubscribed,
  SignallingClient,
} from '@metered/signalling';
import { afterEach, describe, expect, it } from 'vitest';
import { BROKER, useBroker } from './broker.js';
import { appConfig, signToken } from './credentials.js';
import { FaultProxy, SeededRandom } from '@metered/test-support';
import { ServerProcess } from './server-process.js';
import { LONG, printSeedOnFailure, report, SEED } from './settings.js';
import { eventually } from './wait.js';

useBroker();

// "Nothing lost" across what ends a connection: a flaky link, a node that dies, tokens that
// expire, a blip of a publishable-key client. Each test publishes numbered messages, keeps the
// ones the server acked, and asserts that the subscriber received exactly those, once each, in
// publish order.

const APP = appConfig('continuity', {
  limits: {
    connectAttemptsPerIpPerMinute: 1_000_000,
    messagesPerSecond: 1_000,
    messageBurst: 2_000,
  },
});
const KEY = APP.secretKeys[0] as { id: string; secret: string };
const PUBLISHABLE_KEY = APP.publishableKeys[0]?.key as string;
const RECONNECT = { initialDelayMs: 20, maxDelayMs: 200, jitterRatio: 0.5, maxAttempts: Infinity };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(port = 0): Promise<ServerProcess> {
  const server = await ServerProcess.start({
    host: '127.0.0.1',
    port,
    apps: [APP],
    heartbeatIntervalMs: 1_000,
    drainTimeoutMs: 5_000,
    shutdownRetryAfterMs: 100,
  });
  cleanups.push(() => server.kill());
  return server;
}

async function startProxy(port: number): Promise<FaultProxy> {
  const proxy = new FaultProxy(port);
  await proxy.listen();
  cleanups.push(() => proxy.close());
  return proxy;
}

function tokenClient(url: string, peerId: string, expiresInSec = 3600): SignallingClient {
  const client = new SignallingClient({
    url,
    tokenProvider: () => signToken(KEY, peerId, {}, expiresInSec),
    reconnect: RECONNECT,
    inactivityTimeoutMs: 3_000,
  });
  cleanups.push(() => client.close());
  return client;
}

/** The `n`s of the messages a client receives on a channel, in arrival order. */
function collect(client: SignallingClient, channel: string): number[] {
  const received: number[] = [];
  client.on(Message, (event) => {
    if (event.channel === channel) received.push((event.data as { n: number }).n);
  });
  return received;
}

/** Publishes `count` numbered messages, one every `gapMs`; resolves to the `n`s the server acked. */
async function publishNumbered(
  publisher: SignallingClient,
  channel: string,
  count: number,
  gapMs: number,
): Promise<number[]> {
  const acked: number[] = [];
  const pending: Promise<void>[] = [];
  for (let n = 0; n < count; n++) {
    pending.push(
      publisher.publish(channel, { n }).then(
        () => void acked.push(n),
        () => undefined,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  await Promise.all(pending);
  return acked.sort((a, b) => a - b);
}

/** Every acked message exactly once, in publish order (unacked ones may or may not arrive). */
async function expectExactlyOnceInOrder(received: number[], acked: number[]): Promise<void> {
  const last = acked.at(-1);
  await eventually(
    () => received.length,
    () => last === undefined || received.includes(last),
    { timeoutMs: 20_000 },
  );
  const duplicates = received.filter((n, index) => received.indexOf(n) !== index);
  expect(duplicates, 'messages received twice').toEqual([]);
  expect(
    received.every((n, index) => index === 0 || n > (received[index - 1] as number)),
    'messages in publish order',
  ).toBe(true);
  const missing = acked.filter((n) => !received.includes(n));
  expect(missing, 'acked messages never received').toEqual([]);
}

describe('a recovering subscriber behind a link cut every few hundred ms', () => {
  it('receives every acked message exactly once and in order', async () => {
    printSeedOnFailure();
    const random = new SeededRandom(SEED);
    const server = await startServer();
    const proxy = await startProxy(server.port);
    const channel = 'feed/flaky';
    const subscriber = tokenClient(proxy.url, 'subscriber');
    const publisher = tokenClient(server.url, 'publisher');
    const received = collect(subscriber, channel);
    const resubscribed: boolean[] = [];
    subscriber.on(Resubscribed, (event) => void resubscribed.push(event.recovered));
    await Promise.all([subscriber.connect(), publisher.connect()]);
    await subscriber.subscribe(channel, { recover: true });

    let cuts = 0;
    let cutting = true;
    const cutter = (async () => {
      while (cutting) {
        await new Promise((resolve) => setTimeout(resolve, 300 + random.next() * 200));
        if (!cutting) break;
        proxy.dropAll();
        cuts++;
      }
    })();
    const count = LONG ? 5_000 : 1_500;
    const acked = await publishNumbered(publisher, channel, count, 4);
    cutting = false;
    await cutter;

    await expectExactlyOnceInOrder(received, acked);
    expect(acked.length).toBe(count);
    expect(cuts).toBeGreaterThan(5);
    expect(resubscribed.length, 'one Resubscribed per reconnect').toBeGreaterThan(0);
    expect(resubscribed.every(Boolean), 'every resubscribe recovered').toBe(true);
    await report('continuity-flaky-link', {
      broker: BROKER,
      published: count,
      cuts,
      resubscribes: resubscribed.length,
    });
  });
});

// Needs two nodes sharing one broker: a memory-broker node's history dies with it.
describe.runIf(BROKER === 'redis')('a subscriber whose node is killed', () => {
  it('recovers on another node with nothing lost', async () => {
    const nodeA = await startServer();
    const nodeB = await startServer();
    // The proxy plays the load balancer: the subscriber's link goes to node A until A dies.
    const proxy = await startProxy(nodeA.port);
    const channel = 'feed/node-kill';
    const subscriber = tokenClient(proxy.url, 'subscriber');
    const publisher = tokenClient(nodeB.url, 'publisher');
    const received = collect(subscriber, channel);
    const resubscribed: boolean[] = [];
    subscriber.on(Resubscribed, (event) => void resubscribed.push(event.recovered));
    await Promise.all([subscriber.connect(), publisher.connect()]);
    await subscriber.subscribe(channel, { recover: true });

    const publishing = publishNumbered(publisher, channel, 1_200, 3);
    await eventually(
      () => received.length,
      (length) => length >= 300,
    );
    proxy.retarget(nodeB.port);
    await nodeA.kill();
    const acked = await publishing;

    await expectExactlyOnceInOrder(received, acked);
    expect(acked.length).toBe(1_200);
    expect(resubscribed).toEqual([true]);
  });
});

describe('a client with 3-second tokens', () => {
  it('stays on one connection for a minute with every publish acked', async () => {
    const server = await startServer();
    const client = tokenClient(server.url, 'short-lived', 3);
    const disconnects: number[] = [];
    client.on(Disconnected, (event) => void disconnects.push(event.code));
    await client.connect();
    const durationMs = 60_000;
    const started = Date.now();
    let published = 0;
    let failed = 0;
    while (Date.now() - started < durationMs) {
      await client.publish('feed/tokens', { n: published }).then(
        () => void published++,
        () => void failed++,
      );
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(disconnects, 'close codes of the connection').toEqual([]);
    expect(failed, 'publishes not acked').toBe(0);
    expect(published).toBeGreaterThan(100);
    expect(client.state).toBe('connected');
  });
});

describe('a publishable-key client that blips', () => {
  it('keeps its peer id, and its channel sees no leave or join', async () => {
    const server = await startServer();
    const proxy = await startProxy(server.port);
    const channel = 'room/blip';
    const client = new SignallingClient({
      url: proxy.url,
      apiKey: PUBLISHABLE_KEY,
      reconnect: RECONNECT,
      inactivityTimeoutMs: 3_000,
    });
    cleanups.push(() => client.close());
    const observer = tokenClient(server.url, 'observer');
    const peerIds: string[] = [];
    const resumed: boolean[] = [];
    client.on(Connected, (event) => {
      peerIds.push(event.peerId);
      if (event.isReconnect) resumed.push(event.resumed === true);
    });
    await Promise.all([client.connect(), observer.connect()]);
    await client.subscribe(channel, { recover: true });
    // The observer subscribes after the client: its first presence frame on the channel is the
    // snapshot (listing the client); every later one is a change.
    let snapshot: string[] | undefined;
    const changes: string[] = [];
    observer.on(Presence, (event) => {
      if (event.channel !== channel) return;
      if (snapshot === undefined) {
        snapshot = event.joined.map((member) => member.peerId);
        return;
      }
      for (const member of event.joined) changes.push(`joined ${member.peerId}`);
      for (const member of event.left) changes.push(`left ${member.peerId}`);
    });
    await observer.subscribe(channel);
    expect(await eventually(() => snapshot, Boolean)).toEqual([peerIds[0]]);
    const received = collect(client, channel);

    const reconnected = new Promise<void>((resolve) =>
      client.on(Connected, (event) => event.isReconnect && resolve()),
    );
    proxy.dropAll();
    const acked = await publishNumbered(observer, channel, 50, 10);
    await reconnected;
    await expectExactlyOnceInOrder(received, acked);

    expect(peerIds.length).toBe(2);
    expect(peerIds[1]).toBe(peerIds[0]);
    expect(resumed).toEqual([true]);
    // One more round trip on the observer's connection: any presence frame sent before it has
    // arrived by the time it is acked.
    await observer.subscribe('room/other');
    expect(changes, 'presence changes the observer saw').toEqual([]);
  });
});
