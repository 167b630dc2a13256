import { describe, expect, it } from 'vitest';
import { MemoryBroker, type Broker } from '../src/index.js';
import {
  PUBLISHABLE_KEY,
  TestClock,
  connect,
  connectWithKey,
  refusedUpgrade,
  rest,
  startTestServer,
  testApp,
  type TestClient,
} from './helpers.js';

const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

/**
 * A memory broker whose `method` calls wait until `release` is called. `countsQuota`: it says it
 * counts the quota itself, so the server does not wait for a publish's reply before handling
 * the next frame (pipelined; the quota is left uncounted, these tests stay within it).
 */
function gated(
  method: 'acquireConnection' | 'publish',
  countsQuota = false,
): {
  broker: Broker;
  release: () => void;
  firstCall: Promise<void>;
} {
  const inner = new MemoryBroker();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let markCalled!: () => void;
  const firstCall = new Promise<void>((resolve) => (markCalled = resolve));
  const broker: Broker = new Proxy(inner, {
    get(target, property) {
      if (property === 'countsQuota') return countsQuota;
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      const bound = (value as (...args: unknown[]) => unknown).bind(target);
      if (property !== method) return bound;
      return (...args: unknown[]) => {
        markCalled();
        return gate.then(() => bound(...args));
      };
    },
  });
  return { broker, release, firstCall };
}

/**
 * Resolves once the server has read every frame the client sent before (a WebSocket-level
 * ping, answered as the server reads it), or closed the socket meanwhile.
 */
function serverHasRead(client: TestClient): Promise<unknown> {
  const pong = new Promise<void>((resolve) => client.socket.once('pong', () => resolve()));
  client.socket.ping();
  return Promise.race([pong, client.closed]);
}

/** The socket's close, or the ack of `requestId` if every frame was answered instead. */
function closeOrLastAck(client: TestClient, requestId: string): Promise<unknown> {
  const acked = client.waitFor((frame) => frame.requestId === requestId).catch(() => undefined);
  return Promise.race([
    client.closed,
    acked.then((frame): Promise<unknown> => (frame ? Promise.resolve(frame) : client.closed)),
  ]);
}

describe('sockets per client address', () => {
  it('refuses one socket more than maxPerAddress with HTTP 429 before the upgrade', async () => {
    const server = await startTestServer({ connections: { maxPerAddress: 2 } });
    const first = await connectWithKey(server);
    await connectWithKey(server);
    const third = connect(server, { key: PUBLISHABLE_KEY });
    await expect(third.opened).rejects.toThrow(/429/);
    expect((await first.close()).code).toBe(1005);
    await connectWithKey(server);
  });

  it('counts every IPv6 address of a /64 together, behind a trusted proxy', async () => {
    const server = await startTestServer({
      trustedProxyHops: 1,
      connections: { maxPerAddress: 2 },
    });
    await connect(server, { key: PUBLISHABLE_KEY }, from('2001:db8:1:2::1')).welcome();
    await connect(server, { key: PUBLISHABLE_KEY }, from('2001:db8:1:2:ffff::9')).welcome();
    const sameNetwork = connect(server, { key: PUBLISHABLE_KEY }, from('2001:db8:1:2::3'));
    await expect(sameNetwork.opened).rejects.toThrow(/429/);
    await connect(server, { key: PUBLISHABLE_KEY }, from('2001:db8:1:3::1')).welcome();
    await connect(server, { key: PUBLISHABLE_KEY }, from('203.0.113.7')).welcome();
  });
});

describe('Retry-After on refused upgrades', () => {
  it('answers the per-address socket cap (429) with Retry-After', async () => {
    const server = await startTestServer({ connections: { maxPerAddress: 1 } });
    await connectWithKey(server);
    const refusal = await refusedUpgrade(server, { key: PUBLISHABLE_KEY });
    expect(refusal.status).toBe(429);
    expect(Number(refusal.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('answers the half-open caps (429 per address, 503 per node) with Retry-After', async () => {
    const { broker, release, firstCall } = gated('acquireConnection');
    const server = await startTestServer({
      brokerImplementation: broker,
      trustedProxyHops: 1,
      connections: {
        maxPendingUpgrades: 2,
        maxPendingUpgradesPerAddress: 1,
        pendingUpgradeTimeoutMs: 7_000,
      },
    });
    const waiting = [
      connect(server, { key: PUBLISHABLE_KEY }, from('203.0.113.1')),
      connect(server, { key: PUBLISHABLE_KEY }, from('203.0.113.2')),
    ];
    await Promise.all(waiting.map((client) => client.opened));
    await firstCall;
    const perAddress = await refusedUpgrade(server, { key: PUBLISHABLE_KEY }, from('203.0.113.1'));
    expect(perAddress.status).toBe(429);
    expect(perAddress.headers['retry-after']).toBe('7');
    const perNode = await refusedUpgrade(server, { key: PUBLISHABLE_KEY }, from('203.0.113.3'));
    expect(perNode.status).toBe(503);
    expect(perNode.headers['retry-after']).toBe('7');
    release();
    await Promise.all(waiting.map((client) => client.welcome()));
  });
});

describe('half-open upgrades', () => {
  it('refuses upgrades over the per-address (429) and node (503) caps while the broker lags', async () => {
    const { broker, release, firstCall } = gated('acquireConnection');
    const server = await startTestServer({
      brokerImplementation: broker,
      trustedProxyHops: 1,
      connections: { maxPendingUpgrades: 3, maxPendingUpgradesPerAddress: 2 },
    });
    const waiting = [
      connect(server, { key: PUBLISHABLE_KEY }, from('203.0.113.1')),
      connect(server, { key: PUBLISHABLE_KEY }, from('203.0.113.1')),
      connect(server, { key: PUBLISHABLE_KEY }, from('203.0.113.2')),
    ];
    await Promise.all(waiting.map((client) => client.opened));
    await firstCall;
    const sameAddress = connect(server, { key: PUBLISHABLE_KEY }, from('203.0.113.1'));
    await expect(sameAddress.opened).rejects.toThrow(/429/);
    const otherAddress = connect(server, { key: PUBLISHABLE_KEY }, from('203.0.113.3'));
    await expect(otherAddress.opened).rejects.toThrow(/503/);
    release();
    await Promise.all(waiting.map((client) => client.welcome()));
    // Welcomed sockets are no longer half-open.
    await connect(server, { key: PUBLISHABLE_KEY }, from('203.0.113.1')).welcome();
  });

  it('destroys a socket still not welcomed after pendingUpgradeTimeoutMs, and frees its slot', async () => {
    const { broker, release } = gated('acquireConnection');
    const server = await startTestServer({
      brokerImplementation: broker,
      connections: {
        maxPendingUpgrades: 1,
        maxPerAddress: 1,
        pendingUpgradeTimeoutMs: 200,
      },
    });
    const stuck = connect(server, { key: PUBLISHABLE_KEY });
    await stuck.opened;
    expect((await stuck.closed).code).toBe(1006);
    expect(stuck.frames).toEqual([]);
    release();
    await connectWithKey(server);
    const metrics = await rest(server, 'GET', '/metrics', { authorization: null });
    expect(metrics.body).toContain('metered_connects_total{outcome="timeout"} 1');
  });
});

describe('outbound memory across every socket', () => {
  it('drops the slow consumer (closed as 1008) once the node total passes maxOutboundBytes', async () => {
    const server = await startTestServer({
      maxOutboundBufferBytes: 256 * 1024 * 1024,
      restRequestsPerMinute: 1_000_000,
      connections: { maxOutboundBytes: 1024 * 1024 },
    });
    const slow = await connectWithKey(server);
    const healthy = await connectWithKey(server);
    await slow.request({ type: 'subscribe', channel: 'firehose' });
    await healthy.request({ type: 'subscribe', channel: 'firehose' });
    const tcp = (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    const data = 'x'.repeat(30_000);
    let published = 0;
    let delivered = 2;
    // The per-socket bound (256 MiB) is never reached: only the node's cap can drop the socket.
    for (let round = 0; round < 2_000 && delivered === 2; round++) {
      const response = await rest(server, 'POST', '/v1/channels/firehose/publish', {
        body: { data },
      });
      delivered = response.body.delivered;
      published++;
    }
    expect(delivered).toBe(1);
    tcp.resume();
    // Dropped at once (what it held is freed now): no closing handshake, the client sees 1006.
    expect((await slow.closed).code).toBe(1006);
    await healthy.sync();
    expect(healthy.ofType('message')).toHaveLength(published);
    const metrics = await rest(server, 'GET', '/metrics', { authorization: null });
    expect(metrics.body).toContain('metered_closes_total{code="1008"} 1');
  });
});

// Pipelined: frames handled whose answer is not written yet count as waiting.
describe.each([
  ['each publish waits for its reply', false],
  ['publishes pipelined', true],
])('frames waiting on a slow broker (%s)', (_, pipelined) => {
  it("closes with 1013 once more than twice the app's messageBurst frames wait", async () => {
    const clock = new TestClock();
    const { broker, release, firstCall } = gated('publish', pipelined);
    const server = await startTestServer({
      now: clock.now,
      brokerImplementation: broker,
      apps: [testApp({ limits: { messageBurst: 5, messagesPerSecond: 5 } })],
    });
    const client = await connectWithKey(server);
    let sent = 0;
    // Within the rate: 5 frames a second, the clock moving a second between bursts.
    for (let burst = 0; burst < 3; burst++) {
      for (let index = 0; index < 5; index++) {
        client.sendJson({ type: 'publish', channel: 'room', data: sent, requestId: `p${sent}` });
        sent++;
      }
      await serverHasRead(client);
      clock.advance(1_000);
    }
    await firstCall;
    release();
    // Ten frames may wait (one of them on the broker, or all of them when pipelined): the
    // twelfth (the eleventh) closes the socket.
    expect(await closeOrLastAck(client, `p${sent - 1}`)).toMatchObject({ code: 1013 });
    expect(client.ofType('ack').length).toBeLessThan(sent);
  });

  it('closes with 1013 once the frames waiting pass maxQueuedInboundBytes', async () => {
    const { broker, release, firstCall } = gated('publish', pipelined);
    const server = await startTestServer({
      brokerImplementation: broker,
      connections: { maxQueuedInboundBytes: 4096 },
    });
    const client = await connectWithKey(server);
    const data = 'x'.repeat(1000);
    for (let index = 0; index < 8; index++) {
      client.sendJson({ type: 'publish', channel: 'room', data, requestId: `p${index}` });
    }
    await firstCall;
    await serverHasRead(client);
    release();
    expect(await closeOrLastAck(client, 'p7')).toMatchObject({ code: 1013 });
    expect(client.ofType('ack').length).toBeLessThan(8);
  });
});
