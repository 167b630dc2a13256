import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  SECRET,
  SECRET_KEY_ID,
  TestClock,
  connect,
  connectWithKey,
  connectWithToken,
  rest,
  startTestServer,
  testApp,
  PLAIN_V1,
} from './helpers.js';

describe('REST authentication', () => {
  it.each([
    ['no header', null],
    ['a publishable key', 'Bearer pk_live_test'],
    ['a wrong secret', `Bearer ${SECRET_KEY_ID}:wrong`],
    ['an unknown key id', `Bearer sk_id_nope:${SECRET}`],
    ['a key id without secret', `Bearer ${SECRET_KEY_ID}`],
    ['another scheme', `Basic ${SECRET_KEY_ID}:${SECRET}`],
  ])('answers 401 unauthorized for %s', async (_name, authorization) => {
    const server = await startTestServer();
    for (const [method, path] of [
      ['POST', '/v1/tokens'],
      ['GET', '/v1/usage'],
      ['GET', '/v1/channels/room/peers'],
      ['DELETE', '/v1/peers/alice'],
    ] as const) {
      const response = await rest(server, method, path, {
        authorization,
        ...(method === 'POST' && { body: { peerId: 'a' } }),
      });
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ error: 'unauthorized', message: expect.any(String) });
    }
  });

  it('answers 404 not_found for an unknown endpoint', async () => {
    const server = await startTestServer();
    const response = await rest(server, 'GET', '/v1/nothing');
    expect(response.status).toBe(404);
    expect(response.body.error).toBe('not_found');
    expect((await rest(server, 'GET', '/elsewhere')).status).toBe(404);
  });

  it('answers 413 for a body over 32 KiB', async () => {
    const server = await startTestServer();
    const response = await rest(server, 'POST', '/v1/channels/room/publish', {
      body: { data: 'x'.repeat(33 * 1024) },
    });
    expect(response.status).toBe(413);
    expect(response.body.error).toBe('invalid_request');
  });

  it('answers 400 invalid_request for a body that is not a JSON object', async () => {
    const server = await startTestServer();
    for (const rawBody of ['{', '[1]', '"x"']) {
      const response = await rest(server, 'POST', '/v1/tokens', { rawBody });
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_request');
    }
  });
});

describe('POST /v1/tokens', () => {
  it('mints an HS256 token with kid that connects as peerId', async () => {
    const clock = new TestClock();
    const server = await startTestServer({ now: clock.now });
    const response = await rest(server, 'POST', '/v1/tokens', {
      body: {
        peerId: 'alice',
        channels: ['rooms/*'],
        permissions: ['subscribe', 'presence'],
        metadata: { secret: 'private' },
        peerMetadata: { name: 'Alice' },
      },
    });
    expect(response.status).toBe(200);
    const { token, expiresAt } = response.body;
    expect(expiresAt).toBe(clock.seconds + 3600);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'HS256', kid: SECRET_KEY_ID });
    expect(decodeJwt(token)).toMatchObject({
      sub: 'alice',
      exp: expiresAt,
      channels: ['rooms/*'],
      permissions: ['subscribe', 'presence'],
      peerMetadata: { name: 'Alice' },
    });
    const client = connect(server, { token });
    expect(await client.welcome()).toMatchObject({
      peerId: 'alice',
      expiresAt,
      metadata: { secret: 'private' },
    });
    expect(await client.request({ type: 'publish', channel: 'rooms/a', data: 1 })).toMatchObject({
      code: 'action_not_permitted',
    });
  });

  it('honours expiresInSec up to 86400 and refuses more', async () => {
    const clock = new TestClock();
    const server = await startTestServer({ now: clock.now });
    const ok = await rest(server, 'POST', '/v1/tokens', {
      body: { peerId: 'a', expiresInSec: 86_400 },
    });
    expect(ok.body.expiresAt).toBe(clock.seconds + 86_400);
    for (const expiresInSec of [86_401, 0, 1.5, '60']) {
      const response = await rest(server, 'POST', '/v1/tokens', {
        body: { peerId: 'a', expiresInSec },
      });
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_request');
    }
  });

  it('validates the request against the key', async () => {
    const app = testApp({
      secretKeys: [
        {
          id: SECRET_KEY_ID,
          secret: SECRET,
          channelPatterns: ['rooms/**'],
          actions: ['subscribe', 'publish'],
        },
      ],
    });
    const server = await startTestServer({ apps: [app] });
    const cases: [Record<string, unknown>, number, string][] = [
      [{}, 400, 'invalid_request'],
      [{ peerId: 'bad\tid' }, 400, 'invalid_request'],
      [{ peerId: 'a', channels: ['_metered/x'] }, 400, 'channel_reserved'],
      [{ peerId: 'a', channels: ['lobby'] }, 403, 'channel_not_authorized'],
      [{ peerId: 'a', permissions: ['send'] }, 403, 'action_not_permitted'],
      [{ peerId: 'a', permissions: ['fly'] }, 400, 'invalid_request'],
      [{ peerId: 'a', peerMetadata: { blob: 'x'.repeat(4100) } }, 400, 'invalid_request'],
      [{ peerId: 'a', metadata: 'nope' }, 400, 'invalid_request'],
    ];
    for (const [body, status, error] of cases) {
      const response = await rest(server, 'POST', '/v1/tokens', { body });
      expect({ body, status: response.status, error: response.body.error }).toEqual({
        body,
        status,
        error,
      });
    }
    const ok = await rest(server, 'POST', '/v1/tokens', {
      body: { peerId: 'a', channels: ['rooms/1/*'] },
    });
    expect(ok.status).toBe(200);
    expect(decodeJwt(ok.body.token).permissions).toEqual(['subscribe', 'publish']);
  });
});

describe('GET /v1/channels/:channel/peers', () => {
  it('lists the members with their metadata', async () => {
    const server = await startTestServer();
    const alice = await connectWithToken(server, 'alice', { peerMetadata: { name: 'Alice' } });
    const bob = await connectWithToken(server, 'bob');
    await alice.request({ type: 'subscribe', channel: 'rooms/1' });
    await bob.request({ type: 'subscribe', channel: 'rooms/1' });
    const response = await rest(server, 'GET', '/v1/channels/rooms%2F1/peers');
    expect(response.status).toBe(200);
    expect(response.body.channel).toBe('rooms/1');
    expect(response.body.peers).toEqual(
      expect.arrayContaining([{ peerId: 'alice', metadata: { name: 'Alice' } }, { peerId: 'bob' }]),
    );
    expect((await rest(server, 'GET', '/v1/channels/empty/peers')).body).toEqual({
      channel: 'empty',
      peers: [],
    });
  });

  it('answers channel_reserved, channel_not_authorized and action_not_permitted', async () => {
    const app = testApp({
      secretKeys: [
        { id: SECRET_KEY_ID, secret: SECRET, channelPatterns: ['rooms/*'], actions: ['publish'] },
        { id: 'sk_id_presence', secret: 's2', channelPatterns: ['rooms/*'], actions: ['presence'] },
      ],
    });
    const server = await startTestServer({ apps: [app] });
    expect((await rest(server, 'GET', '/v1/channels/rooms%2F1/peers')).body.error).toBe(
      'action_not_permitted',
    );
    const presence = 'Bearer sk_id_presence:s2';
    const reserved = await rest(server, 'GET', '/v1/channels/_system%2Fx/peers', {
      authorization: presence,
    });
    expect([reserved.status, reserved.body.error]).toEqual([400, 'channel_reserved']);
    const outside = await rest(server, 'GET', '/v1/channels/lobby/peers', {
      authorization: presence,
    });
    expect([outside.status, outside.body.error]).toEqual([403, 'channel_not_authorized']);
  });
});

describe('POST /v1/channels/:channel/publish', () => {
  it('delivers a message from "system" or the given sender, with metadata to those who asked', async () => {
    const server = await startTestServer({ extensions: PLAIN_V1 });
    const plain = await connectWithKey(server);
    const asked = await connectWithKey(server);
    await plain.request({ type: 'subscribe', channel: 'news' });
    await asked.request({ type: 'subscribe', channel: 'news', includeSenderMetadata: true });
    const first = await rest(server, 'POST', '/v1/channels/news/publish', {
      body: { data: { a: 1 } },
    });
    expect(first).toMatchObject({ status: 200, body: { channel: 'news', delivered: 2 } });
    expect(await plain.waitFor((frame) => frame.type === 'message')).toEqual({
      type: 'message',
      channel: 'news',
      from: 'system',
      data: { a: 1 },
    });
    await rest(server, 'POST', '/v1/channels/news/publish', {
      body: { data: 2, from: 'editor', peerMetadata: { role: 'staff' } },
    });
    expect(await asked.waitFor((frame) => frame.type === 'message' && frame.data === 2)).toEqual({
      type: 'message',
      channel: 'news',
      from: 'editor',
      data: 2,
      fromMetadata: { role: 'staff' },
    });
  });

  it('requires data', async () => {
    const server = await startTestServer();
    const response = await rest(server, 'POST', '/v1/channels/news/publish', {
      body: { from: 'x' },
    });
    expect([response.status, response.body.error]).toEqual([400, 'invalid_request']);
  });
});

describe('DELETE /v1/peers/:peerId', () => {
  it('closes every socket of the peer with 4020 and reports how many', async () => {
    const server = await startTestServer();
    const one = await connectWithToken(server, 'alice');
    const two = await connectWithToken(server, 'alice');
    const bob = await connectWithToken(server, 'bob');
    const response = await rest(server, 'DELETE', '/v1/peers/alice');
    expect(response).toMatchObject({ status: 200, body: { peerId: 'alice', closed: 2 } });
    expect((await one.closed).code).toBe(4020);
    expect((await two.closed).code).toBe(4020);
    await bob.sync();
    expect((await rest(server, 'DELETE', '/v1/peers/nobody')).body).toEqual({
      peerId: 'nobody',
      closed: 0,
    });
  });

  it('does not cross apps', async () => {
    const server = await startTestServer({
      apps: [
        testApp(),
        testApp({ id: 'app2', publishableKeys: [], secretKeys: [{ id: 'sk2', secret: 's2' }] }),
      ],
    });
    const alice = await connectWithToken(server, 'alice');
    const response = await rest(server, 'DELETE', '/v1/peers/alice', {
      authorization: 'Bearer sk2:s2',
    });
    expect(response.body.closed).toBe(0);
    await alice.sync();
  });
});

describe('GET /v1/usage', () => {
  it('reports concurrent connections, the peak, messages used and the plan', async () => {
    const clock = new TestClock(Date.UTC(2026, 0, 1));
    const server = await startTestServer({
      now: clock.now,
      apps: [
        testApp({
          plan: { maxConcurrentConnections: 10, maxMessagesPerPeriod: 500, periodSeconds: 3600 },
        }),
      ],
    });
    const alice = await connectWithKey(server);
    const bob = await connectWithKey(server);
    await alice.request({ type: 'publish', channel: 'x', data: 1 });
    await bob.close();
    const response = await rest(server, 'GET', '/v1/usage');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      appId: 'app1',
      periodStartUnix: clock.seconds,
      periodEndUnix: clock.seconds + 3600,
      peakConcurrent: 2,
      messagesUsed: 1,
      plan: { maxConcurrentConnections: 10, maxMessagesPerPeriod: 500 },
    });
    expect(response.body.concurrentNow).toBeLessThanOrEqual(2);
  });
});

describe('operations endpoints', () => {
  it('serves /healthz and Prometheus /metrics', async () => {
    const server = await startTestServer();
    await connectWithKey(server);
    expect(await rest(server, 'GET', '/healthz')).toMatchObject({
      status: 200,
      body: { status: 'ok' },
    });
    const metrics = await rest(server, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
    expect(metrics.body).toContain('metered_connections{app="app1"} 1');
    expect(metrics.body).toContain('metered_connects_total{outcome="welcome"} 1');
  });

  it('keeps metrics per server (no global registry)', async () => {
    const first = await startTestServer();
    const second = await startTestServer();
    await connectWithKey(first);
    expect((await rest(second, 'GET', '/metrics')).body).not.toContain('outcome="welcome"');
  });
});

describe('REST rate limit', () => {
  it('answers 429 with Retry-After past restRequestsPerMinute per address', async () => {
    const clock = new TestClock();
    const server = await startTestServer({ now: clock.now, restRequestsPerMinute: 2 });
    expect((await rest(server, 'GET', '/v1/usage')).status).toBe(200);
    expect((await rest(server, 'GET', '/v1/usage')).status).toBe(200);
    const limited = await rest(server, 'GET', '/v1/usage');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('30');
    expect(limited.body.error).toBe('rate_limited');
    clock.advance(30_000);
    expect((await rest(server, 'GET', '/v1/usage')).status).toBe(200);
  });
});
