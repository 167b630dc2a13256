import { WsCloseCode } from '@metered/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/index.js';
import { startTwoNodes, type BrokerKind } from './extension-nodes.js';
import {
  PUBLISHABLE_KEY,
  PLAIN_V1,
  connect,
  rest,
  signTestToken,
  testApp,
  TestClock,
  type TestClient,
} from './helpers.js';
import { startRedis, type RedisProcess } from './redis-server.js';

// Extension `refresh`: a new token on the open connection, checked as on connect.

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** A token minted by the server's REST API. */
async function mint(
  server: RunningServer,
  body: { peerId: string; channels?: string[]; permissions?: string[]; expiresInSec?: number },
): Promise<string> {
  const response = await rest(server, 'POST', '/v1/tokens', { body });
  if (response.status !== 200) throw new Error(`minting failed: ${JSON.stringify(response.body)}`);
  return response.body.token as string;
}

async function connectToken(server: RunningServer, token: string): Promise<TestClient> {
  const client = connect(server, { token });
  await client.welcome();
  return client;
}

describe.each<BrokerKind>(['memory', 'redis'])('token refresh on the %s broker', (kind) => {
  it('is advertised and moves the expiry: 3-second tokens refreshed in-band keep one connection for 10 s', async () => {
    const [server] = await startTwoNodes(kind, () => redis);
    const token = await mint(server, { peerId: 'alice', expiresInSec: 3 });
    const client = connect(server, { token });
    const welcome = await client.welcome();
    expect(welcome.extensions).toMatchObject({ refresh: {}, resume: { windowMs: 15_000 } });
    await client.request({ type: 'subscribe', channel: 'room' });
    const started = Date.now();
    let expiresAt = welcome.expiresAt as number;
    let refreshes = 0;
    let publishes = 0;
    while (Date.now() - started < 10_000) {
      // Refresh a second before the token's expiry; publish meanwhile.
      while (Date.now() < expiresAt * 1000 - 1_000) {
        const reply = await client.request({ type: 'publish', channel: 'room', data: publishes });
        expect(reply.type).toBe('ack');
        publishes++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const next = await mint(server, { peerId: 'alice', expiresInSec: 3 });
      const reply = await client.request({ type: 'refresh', token: next });
      expect(reply).toMatchObject({ type: 'ack' });
      expect(reply.expiresAt).toBeGreaterThanOrEqual(expiresAt);
      expiresAt = reply.expiresAt as number;
      refreshes++;
    }
    expect(refreshes).toBeGreaterThanOrEqual(3);
    expect(publishes).toBeGreaterThan(0);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    // Without a refresh the connection ends at the expiry, as before.
    expect((await client.closed).code).toBe(WsCloseCode.TOKEN_EXPIRED);
  }, 30_000);

  it('refuses a token of another sub, of another app or an invalid one, and changes nothing', async () => {
    const otherApp = testApp({
      id: 'app2',
      publishableKeys: [],
      secretKeys: [
        {
          id: 'sk_id_other',
          secret: 'sk_secret_other',
          channelPatterns: ['**'],
          actions: ['subscribe', 'publish', 'presence', 'send'],
        },
      ],
    });
    const [server] = await startTwoNodes(kind, () => redis, { apps: [testApp(), otherApp] });
    const client = await connectToken(server, await mint(server, { peerId: 'alice' }));
    const refused = [
      await mint(server, { peerId: 'bob' }),
      await signTestToken({ sub: 'alice', kid: 'sk_id_other', secret: 'sk_secret_other' }),
      await signTestToken({ sub: 'alice', secret: 'wrong' }),
      'not-a-token',
    ];
    for (const token of refused) {
      expect(await client.request({ type: 'refresh', token })).toMatchObject({
        type: 'error',
        code: 'action_not_permitted',
      });
    }
    // Refused refreshes change nothing: the connection goes on as before.
    expect(await client.request({ type: 'publish', channel: 'room', data: 1 })).toMatchObject({
      type: 'ack',
    });
  });

  it("refuses a token the peer id's kick revoked", async () => {
    const clock = new TestClock();
    const [server] = await startTwoNodes(kind, () => redis, { now: clock.now });
    const first = await connectToken(server, await mint(server, { peerId: 'alice' }));
    const earlier = await mint(server, { peerId: 'alice' });
    expect((await rest(server, 'DELETE', '/v1/peers/alice?ttlSeconds=60')).status).toBe(200);
    expect((await first.closed).code).toBe(WsCloseCode.ADMIN_DISCONNECT);
    clock.advance(2_000);
    const client = await connectToken(server, await mint(server, { peerId: 'alice' }));
    expect(await client.request({ type: 'refresh', token: earlier })).toMatchObject({
      code: 'action_not_permitted',
    });
  });

  it('ends the subscriptions a narrower token no longer allows; members see them leave', async () => {
    const [a, b] = await startTwoNodes(kind, () => redis);
    const client = await connectToken(a, await mint(a, { peerId: 'alice' }));
    const observer = await connectToken(b, await mint(b, { peerId: 'bob' }));
    for (const channel of ['rooms/1', 'rooms/2', 'lobby']) {
      await observer.request({ type: 'subscribe', channel });
      await client.request({ type: 'subscribe', channel });
    }
    const narrower = await mint(a, {
      peerId: 'alice',
      channels: ['rooms/*'],
      permissions: ['subscribe', 'presence'],
    });
    const reply = await client.request({ type: 'refresh', token: narrower });
    expect(reply).toMatchObject({ type: 'ack' });
    expect(client.ofType('unsubscribed')).toEqual([
      { type: 'unsubscribed', channel: 'lobby', code: 'channel_not_authorized' },
    ]);
    await observer.waitFor(
      (frame) =>
        frame.type === 'presence' && frame.channel === 'lobby' && frame.left[0]?.peerId === 'alice',
    );
    // Narrowed permissions apply to the next frames; allowed channels go on.
    expect(await client.request({ type: 'publish', channel: 'rooms/1', data: 1 })).toMatchObject({
      code: 'action_not_permitted',
    });
    expect(await client.request({ type: 'subscribe', channel: 'lobby' })).toMatchObject({
      code: 'channel_not_authorized',
    });
    await observer.request({ type: 'publish', channel: 'rooms/2', data: 'still here' });
    await client.waitFor((frame) => frame.type === 'message' && frame.data === 'still here');
    await observer.sync();
    expect(
      observer
        .ofType('presence')
        .filter((frame) => frame.channel !== 'lobby' && frame.left.length > 0),
    ).toEqual([]);
  });

  it('is refused on a key-authenticated connection', async () => {
    const [server] = await startTwoNodes(kind, () => redis);
    const client = connect(server, { key: PUBLISHABLE_KEY });
    await client.welcome();
    const token = await mint(server, { peerId: 'alice' });
    expect(await client.request({ type: 'refresh', token })).toMatchObject({
      code: 'action_not_permitted',
    });
  });
});

describe('extensions switched off', () => {
  it('keep the plain v1 welcome and answer session and refresh with unknown_type', async () => {
    const [server] = await startTwoNodes('memory', () => redis, {
      extensions: PLAIN_V1,
    });
    const client = connect(server, { token: await signTestToken({ sub: 'alice' }) });
    const welcome = await client.welcome();
    expect(Object.keys(welcome)).not.toContain('extensions');
    expect(await client.request({ type: 'session' })).toMatchObject({ code: 'unknown_type' });
    const token = await signTestToken({ sub: 'alice' });
    expect(await client.request({ type: 'refresh', token })).toMatchObject({
      code: 'unknown_type',
    });
  });
});
