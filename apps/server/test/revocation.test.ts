// Revocation: keys removed by a reload close what they opened; a kicked peer's tokens stay out.
import { describe, expect, it } from 'vitest';
import {
  PUBLISHABLE_KEY,
  SECRET,
  SECRET_KEY_ID,
  TestClock,
  connect,
  rest,
  signTestToken,
  startTestServer,
  testApp,
  type TestClient,
} from './helpers.js';

/** The close code of a connect attempt, or 'welcome'. */
async function outcome(client: TestClient): Promise<number | 'welcome'> {
  return Promise.race([
    client.welcome().then(() => 'welcome' as const),
    client.closed.then((closed) => closed.code),
  ]);
}

const OTHER_KEY = 'pk_live_other';
const OTHER_SECRET_ID = 'sk_id_other';
const OTHER_SECRET = 'sk_secret_other';

const twoOfEach = (overrides: Parameters<typeof testApp>[0] = {}) =>
  testApp({
    publishableKeys: [{ key: PUBLISHABLE_KEY }, { key: OTHER_KEY }],
    secretKeys: [
      { id: SECRET_KEY_ID, secret: SECRET },
      { id: OTHER_SECRET_ID, secret: OTHER_SECRET },
    ],
    ...overrides,
  });

describe('a reload that removes a key', () => {
  it('closes with 4001 the sockets of a removed publishable key, and keeps the others', async () => {
    const server = await startTestServer({ apps: [twoOfEach()] });
    const removed = connect(server, { key: PUBLISHABLE_KEY });
    const kept = connect(server, { key: OTHER_KEY });
    const token = connect(server, { token: await signTestToken({ sub: 'alice' }) });
    await Promise.all([removed.welcome(), kept.welcome(), token.welcome()]);
    server.reload({ apps: [twoOfEach({ publishableKeys: [{ key: OTHER_KEY }] })] });
    expect((await removed.closed).code).toBe(4001);
    await kept.sync();
    await token.sync();
    expect(kept.socket.readyState).toBe(kept.socket.OPEN);
    expect(token.socket.readyState).toBe(token.socket.OPEN);
    expect(await outcome(connect(server, { key: PUBLISHABLE_KEY }))).toBe(4001);
  });

  it('closes with 4001 the sockets on tokens of a removed secret key, or of one whose secret changed', async () => {
    const server = await startTestServer({ apps: [twoOfEach()] });
    const removed = connect(server, { token: await signTestToken({ sub: 'alice' }) });
    const kept = connect(server, {
      token: await signTestToken({ sub: 'bob', kid: OTHER_SECRET_ID, secret: OTHER_SECRET }),
    });
    const key = connect(server, { key: PUBLISHABLE_KEY });
    await Promise.all([removed.welcome(), kept.welcome(), key.welcome()]);
    server.reload({
      apps: [twoOfEach({ secretKeys: [{ id: OTHER_SECRET_ID, secret: OTHER_SECRET }] })],
    });
    expect((await removed.closed).code).toBe(4001);
    await kept.sync();
    await key.sync();
    expect(kept.socket.readyState).toBe(kept.socket.OPEN);

    server.reload({
      apps: [twoOfEach({ secretKeys: [{ id: OTHER_SECRET_ID, secret: 'sk_secret_rotated' }] })],
    });
    expect((await kept.closed).code).toBe(4001);
    await key.sync();
    expect(key.socket.readyState).toBe(key.socket.OPEN);
  });

  it('keeps 4012 for the sockets of a removed app', async () => {
    const server = await startTestServer();
    const client = connect(server, { key: PUBLISHABLE_KEY });
    await client.welcome();
    server.reload({
      apps: [testApp({ id: 'other', publishableKeys: [{ key: 'pk_other' }], secretKeys: [] })],
    });
    expect((await client.closed).code).toBe(4012);
  });
});

describe('a kicked peer', () => {
  it('cannot reconnect with the token it had: 4020, terminal', async () => {
    const server = await startTestServer();
    const token = await signTestToken({ sub: 'alice' });
    const first = connect(server, { token });
    await first.welcome();
    expect((await rest(server, 'DELETE', '/v1/peers/alice')).body).toEqual({
      peerId: 'alice',
      closed: 1,
    });
    expect((await first.closed).code).toBe(4020);
    expect(await outcome(connect(server, { token }))).toBe(4020);
    // Another token issued before the kick is refused too; other peers are not affected.
    expect(await outcome(connect(server, { token: await signTestToken({ sub: 'alice' }) }))).toBe(
      4020,
    );
    expect(await outcome(connect(server, { token: await signTestToken({ sub: 'bob' }) }))).toBe(
      'welcome',
    );
  });

  it('connects again with a token issued after the kick', async () => {
    const clock = new TestClock();
    const server = await startTestServer({ now: clock.now });
    const before = await signTestToken({
      sub: 'alice',
      now: clock.time,
      claims: { iat: clock.seconds },
    });
    expect((await rest(server, 'DELETE', '/v1/peers/alice')).status).toBe(200);
    clock.advance(1000);
    const after = await signTestToken({
      sub: 'alice',
      now: clock.time,
      claims: { iat: clock.seconds },
    });
    expect(await outcome(connect(server, { token: before }))).toBe(4020);
    expect(await outcome(connect(server, { token: after }))).toBe('welcome');
    // A token minted by the REST API after the kick carries its iat.
    const minted = await rest(server, 'POST', '/v1/tokens', { body: { peerId: 'alice' } });
    expect(await outcome(connect(server, { token: minted.body.token }))).toBe('welcome');
  });

  it('reconnects once a kick with ttlSeconds has ended', async () => {
    const clock = new TestClock();
    const server = await startTestServer({ now: clock.now });
    const token = await signTestToken({ sub: 'alice', now: clock.time });
    const kicked = await rest(server, 'DELETE', '/v1/peers/alice?ttlSeconds=120');
    expect(kicked.status).toBe(200);
    expect(await outcome(connect(server, { token }))).toBe(4020);
    clock.advance(119_000);
    expect(await outcome(connect(server, { token }))).toBe(4020);
    clock.advance(2_000);
    expect(await outcome(connect(server, { token }))).toBe('welcome');
  });

  it('with ttlSeconds=0 only closes the sockets, and refuses a bad ttlSeconds', async () => {
    const server = await startTestServer();
    const token = await signTestToken({ sub: 'alice' });
    expect((await rest(server, 'DELETE', '/v1/peers/alice?ttlSeconds=0')).status).toBe(200);
    expect(await outcome(connect(server, { token }))).toBe('welcome');
    for (const bad of ['-1', '1.5', 'x', '9999999999']) {
      const response = await rest(server, 'DELETE', `/v1/peers/alice?ttlSeconds=${bad}`);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: 'invalid_request' });
    }
  });

  it('stays out until every token issued before the kick has expired, by default', async () => {
    const clock = new TestClock();
    const server = await startTestServer({
      now: clock.now,
      apps: [testApp({ tokens: { maxLifetimeSeconds: 600, clockToleranceSeconds: 0 } })],
    });
    const token = await signTestToken({
      sub: 'alice',
      now: clock.time,
      exp: clock.seconds + 600,
    });
    expect((await rest(server, 'DELETE', '/v1/peers/alice')).status).toBe(200);
    clock.advance(590_000);
    expect(await outcome(connect(server, { token }))).toBe(4020);
    clock.advance(20_000);
    // The kick has ended with the token's life: the token is refused as expired, not kicked.
    expect(await outcome(connect(server, { token }))).toBe(4002);
  });
});
