import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  PUBLISHABLE_KEY,
  TestClock,
  connect,
  connectWithKey,
  connectWithToken,
  refusedUpgrade,
  rest,
  startTestServer,
  testApp,
} from './helpers.js';

describe('frame rules', () => {
  it('closes with 1008 on a binary frame', async () => {
    const server = await startTestServer();
    const client = await connectWithKey(server);
    client.socket.send(Buffer.from('{"type":"ping"}'), { binary: true });
    expect((await client.closed).code).toBe(1008);
  });

  it.each(['not json', '[1,2]', '"text"', 'null'])(
    'closes with 1008 on the text %j',
    async (text) => {
      const server = await startTestServer();
      const client = await connectWithKey(server);
      client.socket.send(text);
      expect((await client.closed).code).toBe(1008);
    },
  );

  it("closes with 1009 on a frame over the app's maxMessageSize", async () => {
    const server = await startTestServer({
      apps: [testApp({ limits: { maxMessageSize: 1024 } })],
    });
    const client = await connectWithKey(server);
    const data = 'x'.repeat(900);
    expect(await client.request({ type: 'publish', channel: 'a', data })).toMatchObject({
      type: 'ack',
    });
    client.sendJson({ type: 'publish', channel: 'a', data: 'x'.repeat(1100) });
    expect((await client.closed).code).toBe(1009);
  });

  it('closes with 1009 on a frame over the default 64 KiB', async () => {
    const server = await startTestServer();
    const client = await connectWithKey(server);
    client.sendJson({ type: 'publish', channel: 'a', data: 'x'.repeat(65_536) });
    expect((await client.closed).code).toBe(1009);
  });
});

describe('channel cap', () => {
  it('answers channel_limit_exceeded past maxChannelsPerConnection', async () => {
    const server = await startTestServer({
      apps: [testApp({ limits: { maxChannelsPerConnection: 2 } })],
    });
    const client = await connectWithKey(server);
    expect(await client.request({ type: 'subscribe', channel: 'a' })).toMatchObject({
      type: 'ack',
    });
    expect(await client.request({ type: 'subscribe', channel: 'b' })).toMatchObject({
      type: 'ack',
    });
    expect(await client.request({ type: 'subscribe', channel: 'c' })).toMatchObject({
      type: 'error',
      code: 'channel_limit_exceeded',
    });
    expect(await client.request({ type: 'subscribe', channel: 'a' })).toMatchObject({
      type: 'ack',
    });
    await client.request({ type: 'unsubscribe', channel: 'b' });
    expect(await client.request({ type: 'subscribe', channel: 'c' })).toMatchObject({
      type: 'ack',
    });
  });
});

describe('message rate', () => {
  it('closes with 4011 when the bucket (burst 200) is empty', async () => {
    const clock = new TestClock();
    const server = await startTestServer({ now: clock.now });
    const client = await connectWithKey(server);
    for (let index = 0; index < 201; index++) client.sendJson({ type: 'ping' });
    expect((await client.closed).code).toBe(4011);
    expect(client.ofType('pong')).toHaveLength(200);
  });

  it('refills at messagesPerSecond', async () => {
    const clock = new TestClock();
    const server = await startTestServer({
      now: clock.now,
      apps: [testApp({ limits: { messagesPerSecond: 2, messageBurst: 4 } })],
    });
    const client = await connectWithKey(server);
    for (let index = 0; index < 3; index++) client.sendJson({ type: 'ping' });
    await client.sync(); // the 4th frame
    clock.advance(1000); // +2 tokens
    await client.sync();
    await client.sync();
    client.sendJson({ type: 'ping' });
    expect((await client.closed).code).toBe(4011);
  });
});

describe('message quota', () => {
  it('answers over_message_quota on publish and send while subscribe and delivery keep working', async () => {
    const clock = new TestClock(Date.UTC(2026, 0, 1, 0, 0, 10));
    const server = await startTestServer({
      now: clock.now,
      apps: [testApp({ plan: { maxMessagesPerPeriod: 2, periodSeconds: 60 } })],
    });
    const alice = await connectWithToken(server, 'alice', {}, clock.time);
    const bob = await connectWithToken(server, 'bob', {}, clock.time);
    await bob.request({ type: 'subscribe', channel: 'room' });
    expect(await alice.request({ type: 'publish', channel: 'room', data: 1 })).toMatchObject({
      type: 'ack',
    });
    expect(await alice.request({ type: 'send', to: 'bob', data: 2 })).toMatchObject({
      type: 'ack',
    });
    expect(await alice.request({ type: 'publish', channel: 'room', data: 3 })).toMatchObject({
      type: 'error',
      code: 'over_message_quota',
    });
    expect(await bob.request({ type: 'send', to: 'alice', data: 4 })).toMatchObject({
      type: 'error',
      code: 'over_message_quota',
    });
    expect(await alice.request({ type: 'subscribe', channel: 'room' })).toMatchObject({
      type: 'ack',
    });
    const published = await rest(server, 'POST', '/v1/channels/room/publish', {
      body: { data: 'notice' },
    });
    expect(published.status).toBe(200);
    expect(
      await bob.waitFor((frame) => frame.type === 'message' && frame.data === 'notice'),
    ).toBeTruthy();
    expect((await rest(server, 'GET', '/v1/usage')).body.messagesUsed).toBe(4);
    clock.advance(60_000);
    expect(await alice.request({ type: 'publish', channel: 'room', data: 5 })).toMatchObject({
      type: 'ack',
    });
  });
});

describe('connect attempts per IP', () => {
  it('answers HTTP 429 before the upgrade once the per-minute budget is spent', async () => {
    const clock = new TestClock();
    const server = await startTestServer({
      now: clock.now,
      apps: [testApp({ limits: { connectAttemptsPerIpPerMinute: 2 } })],
    });
    await connectWithKey(server);
    const refused = connect(server, { key: 'pk_live_unknown_counts_elsewhere' });
    expect((await refused.closed).code).toBe(4001);
    await connectWithKey(server);
    const limited = connect(server, { key: PUBLISHABLE_KEY });
    await expect(limited.opened).rejects.toThrow(/429/);
    clock.advance(30_000);
    await connectWithKey(server);
  });
});

describe('per-address limits behind a proxy', () => {
  const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

  it('counts X-Forwarded-For addresses when trustedProxyHops is set', async () => {
    const server = await startTestServer({
      trustedProxyHops: 1,
      apps: [testApp({ limits: { connectAttemptsPerIpPerMinute: 1 } })],
    });
    await connect(server, { key: PUBLISHABLE_KEY }, from('203.0.113.1')).welcome();
    await connect(server, { key: PUBLISHABLE_KEY }, from('203.0.113.2')).welcome();
    const again = connect(server, { key: PUBLISHABLE_KEY }, from('203.0.113.1'));
    await expect(again.opened).rejects.toThrow(/429/);
    // A client that writes its own entry first is still counted by the proxy's entry.
    const spoofed = connect(server, { key: PUBLISHABLE_KEY }, from('198.51.100.9, 203.0.113.2'));
    await expect(spoofed.opened).rejects.toThrow(/429/);
  });

  it('counts the connect attempts of every IPv6 address of a /64 together', async () => {
    const server = await startTestServer({
      trustedProxyHops: 1,
      apps: [testApp({ limits: { connectAttemptsPerIpPerMinute: 1 } })],
    });
    await connect(server, { key: PUBLISHABLE_KEY }, from('2001:db8:1:2::1')).welcome();
    const sameNetwork = await refusedUpgrade(
      server,
      { key: PUBLISHABLE_KEY },
      from('2001:db8:1:2:ffff::9'),
    );
    expect(sameNetwork.status).toBe(429);
    expect(sameNetwork.headers['retry-after']).toBe('60');
    await connect(server, { key: PUBLISHABLE_KEY }, from('2001:db8:1:3::1')).welcome();
  });

  it('counts the REST requests of every IPv6 address of a /64 together', async () => {
    const server = await startTestServer({ trustedProxyHops: 1, restRequestsPerMinute: 1 });
    const usage = async (address: string) =>
      (await fetch(`${server.url.replace('ws:', 'http:')}/v1/usage`, from(address))).status;
    expect(await usage('2001:db8:1:2::1')).toBe(401);
    expect(await usage('2001:db8:1:2::2')).toBe(429);
    expect(await usage('2001:db8:1:3::1')).toBe(401);
  });

  it('ignores X-Forwarded-For by default', async () => {
    const server = await startTestServer({
      apps: [testApp({ limits: { connectAttemptsPerIpPerMinute: 1 } })],
    });
    await connect(server, { key: PUBLISHABLE_KEY }, from('203.0.113.1')).welcome();
    const other = connect(server, { key: PUBLISHABLE_KEY }, from('203.0.113.2'));
    await expect(other.opened).rejects.toThrow(/429/);
  });

  it('applies restRequestsPerMinute per forwarded address', async () => {
    const server = await startTestServer({ trustedProxyHops: 1, restRequestsPerMinute: 1 });
    // Unauthenticated: 401 until the address's budget is spent, then 429.
    const usage = async (address: string) =>
      (await fetch(`${server.url.replace('ws:', 'http:')}/v1/usage`, from(address))).status;
    expect(await usage('203.0.113.1')).toBe(401);
    expect(await usage('203.0.113.2')).toBe(401);
    expect(await usage('203.0.113.1')).toBe(429);
  });
});

describe('slow request headers', () => {
  it('answers 408 to an upgrade whose headers do not finish within httpHeadersTimeoutMs', async () => {
    const server = await startTestServer({ httpHeadersTimeoutMs: 1_000 });
    const { port, hostname } = new URL(server.url);
    const socket = createConnection(Number(port), hostname);
    let answer = '';
    const ended = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      socket.on('close', () => resolve());
    });
    socket.on('error', () => undefined);
    socket.write(
      `GET /v1?key=${PUBLISHABLE_KEY} HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\n`,
    );
    await ended;
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });
});

describe('slow consumers', () => {
  it('closes a socket whose outbound buffer stays over the bound with 1008', async () => {
    const server = await startTestServer({
      maxOutboundBufferBytes: 64 * 1024,
      restRequestsPerMinute: 1_000_000,
    });
    const slow = await connectWithKey(server);
    await slow.request({ type: 'subscribe', channel: 'firehose' });
    const tcp = (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    const data = 'x'.repeat(30_000);
    let delivered = 1;
    for (let round = 0; round < 10_000 && delivered > 0; round++) {
      const response = await rest(server, 'POST', '/v1/channels/firehose/publish', {
        body: { data },
      });
      delivered = response.body.delivered;
    }
    expect(delivered).toBe(0);
    tcp.resume();
    expect((await slow.closed).code).toBe(1008);
  });
});
