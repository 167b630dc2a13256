import { createHmac } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  PUBLISHABLE_KEY,
  SECRET,
  SECRET_KEY_ID,
  TestClock,
  connect,
  connectWithKey,
  connectWithToken,
  rest,
  signTestToken,
  startTestServer,
  testApp,
} from './helpers.js';

describe('connect refusals (close after the upgrade, no welcome)', () => {
  const cases: [string, () => Promise<Record<string, string>>, number][] = [
    ['neither key nor token', async () => ({}), 4001],
    [
      'both key and token',
      async () => ({ key: PUBLISHABLE_KEY, token: await signTestToken() }),
      4001,
    ],
    ['an unknown publishable key', async () => ({ key: 'pk_live_nope' }), 4001],
    ['a malformed token', async () => ({ token: 'not.a.jwt' }), 4001],
    ['a bad signature', async () => ({ token: await signTestToken({ secret: 'wrong' }) }), 4001],
    [
      'an unknown kid',
      async () => ({ token: await signTestToken({ kid: 'sk_id_unknown' }) }),
      4001,
    ],
    ['alg HS512', async () => ({ token: await signTestToken({ alg: 'HS512' }) }), 4001],
    [
      'alg none',
      async () => ({
        token: new UnsecuredJWT({
          sub: 'mallory',
          exp: Math.floor(Date.now() / 1000) + 60,
        }).encode(),
      }),
      4001,
    ],
    [
      'alg none with a kid',
      async () => {
        const header = Buffer.from(JSON.stringify({ alg: 'none', kid: SECRET_KEY_ID })).toString(
          'base64url',
        );
        const body = Buffer.from(
          JSON.stringify({ sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 60 }),
        ).toString('base64url');
        return { token: `${header}.${body}.` };
      },
      4001,
    ],
    ['no sub', async () => ({ token: await signTestToken({ sub: null }) }), 4001],
    [
      'a sub that is not a peer id',
      async () => ({ token: await signTestToken({ sub: 'bad\nid' }) }),
      4001,
    ],
    ['no exp', async () => ({ token: await signTestToken({ exp: null }) }), 4001],
    [
      'oversized metadata',
      async () => ({
        token: await signTestToken({ claims: { metadata: { blob: 'x'.repeat(8200) } } }),
      }),
      4001,
    ],
    [
      'oversized peerMetadata',
      async () => ({
        token: await signTestToken({ claims: { peerMetadata: { blob: 'x'.repeat(4100) } } }),
      }),
      4001,
    ],
    [
      'an unknown permission',
      async () => ({ token: await signTestToken({ claims: { permissions: ['admin'] } }) }),
      4001,
    ],
    [
      'an expired token',
      async () => ({ token: await signTestToken({ exp: Math.floor(Date.now() / 1000) - 10 }) }),
      4002,
    ],
    [
      'a token authorising no channel',
      async () => ({ token: await signTestToken({ claims: { channels: [] } }) }),
      4003,
    ],
  ];

  it.each(cases)('closes %s', async (_name, query, code) => {
    const server = await startTestServer();
    const client = connect(server, await query());
    const closed = await client.closed;
    expect(closed.code).toBe(code);
    expect(client.ofType('welcome')).toEqual([]);
  });

  it("refuses a token whose channels or permissions exceed its key's (4001)", async () => {
    const app = testApp({
      secretKeys: [
        { id: SECRET_KEY_ID, secret: SECRET, channelPatterns: ['rooms/*'], actions: ['subscribe'] },
      ],
    });
    const server = await startTestServer({ apps: [app] });
    for (const claims of [
      { channels: ['other'] },
      { channels: ['rooms/**'] },
      { channels: ['rooms/a'], permissions: ['publish'] },
    ]) {
      const client = connect(server, { token: await signTestToken({ claims }) });
      expect((await client.closed).code).toBe(4001);
    }
    const ok = connect(server, {
      token: await signTestToken({
        claims: { channels: ['rooms/a', 'rooms/b-*'], permissions: ['subscribe'] },
      }),
    });
    await ok.welcome();
  });

  it('checks allowedOrigins against the Origin header', async () => {
    const app = testApp({
      publishableKeys: [{ key: PUBLISHABLE_KEY, allowedOrigins: ['https://app.example.com'] }],
    });
    const server = await startTestServer({ apps: [app] });
    const allowed = connect(
      server,
      { key: PUBLISHABLE_KEY },
      { origin: 'https://app.example.com' },
    );
    await allowed.welcome();
    const other = connect(server, { key: PUBLISHABLE_KEY }, { origin: 'https://evil.example.com' });
    expect((await other.closed).code).toBe(4001);
    const none = connect(server, { key: PUBLISHABLE_KEY });
    expect((await none.closed).code).toBe(4001);
  });

  it('signs with the UTF-8 bytes of the secret', async () => {
    const secret = 'sk_secret_ünïcödé';
    const app = testApp({ secretKeys: [{ id: 'sk_id_u', secret }] });
    const server = await startTestServer({ apps: [app] });
    const token = await new SignJWT({ sub: 'u', exp: Math.floor(Date.now() / 1000) + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: 'sk_id_u' })
      .sign(Buffer.from(secret, 'utf8'));
    const client = connect(server, { token });
    expect((await client.welcome()).peerId).toBe('u');
  });
});

describe('token expiry', () => {
  it('closes a live socket with 4002 about 250 ms before exp', async () => {
    const server = await startTestServer();
    const exp = Math.floor(Date.now() / 1000) + 2;
    const client = connect(server, { token: await signTestToken({ sub: 'short', exp }) });
    await client.welcome();
    const closed = await client.closed;
    expect(closed.code).toBe(4002);
  });

  it('uses the injected clock: 4002 once the clock passes exp - 250 ms', async () => {
    const clock = new TestClock();
    const server = await startTestServer({ now: clock.now });
    const exp = clock.seconds + 3600;
    const client = connect(server, {
      token: await signTestToken({ sub: 'clocked', exp, now: clock.time }),
    });
    await client.welcome();
    clock.time = exp * 1000 - 300;
    await client.sync();
    clock.time = exp * 1000 - 250;
    client.sendJson({ type: 'ping' });
    expect((await client.closed).code).toBe(4002);
  });

  it('refuses with 4002 a token that expires within the margin', async () => {
    const clock = new TestClock();
    const server = await startTestServer({ now: clock.now });
    const exp = clock.seconds + 60;
    clock.time = exp * 1000 - 100;
    const client = connect(server, { token: await signTestToken({ exp, now: clock.time }) });
    expect((await client.closed).code).toBe(4002);
  });
});

describe('channel authorisation', () => {
  it('answers channel_not_authorized outside the token channels and keeps the socket', async () => {
    const server = await startTestServer();
    const client = await connectWithToken(server, 'alice', { channels: ['rooms/*'] });
    expect(await client.request({ type: 'subscribe', channel: 'rooms/a' })).toMatchObject({
      type: 'ack',
    });
    expect(await client.request({ type: 'subscribe', channel: 'rooms/a/b' })).toMatchObject({
      type: 'error',
      code: 'channel_not_authorized',
    });
    expect(await client.request({ type: 'publish', channel: 'lobby', data: 1 })).toMatchObject({
      type: 'error',
      code: 'channel_not_authorized',
    });
    expect(await client.request({ type: 'publish', channel: 'rooms/a', data: 1 })).toMatchObject({
      type: 'ack',
    });
  });

  it("answers action_not_permitted for an action outside the token's permissions", async () => {
    const server = await startTestServer();
    await connectWithToken(server, 'bob');
    const client = await connectWithToken(server, 'alice', { permissions: ['presence'] });
    for (const frame of [
      { type: 'subscribe', channel: 'room' },
      { type: 'publish', channel: 'room', data: 1 },
      { type: 'send', to: 'bob', data: 1 },
    ]) {
      expect(await client.request(frame)).toMatchObject({
        type: 'error',
        code: 'action_not_permitted',
      });
    }
  });

  it("applies a publishable key's patterns and actions", async () => {
    const app = testApp({
      publishableKeys: [
        {
          key: PUBLISHABLE_KEY,
          channelPatterns: ['public/**'],
          actions: ['subscribe', 'publish', 'presence'],
        },
      ],
    });
    const server = await startTestServer({ apps: [app] });
    const client = await connectWithKey(server);
    expect(await client.request({ type: 'subscribe', channel: 'public/a/b' })).toMatchObject({
      type: 'ack',
    });
    expect(await client.request({ type: 'subscribe', channel: 'private' })).toMatchObject({
      code: 'channel_not_authorized',
    });
    expect(await client.request({ type: 'send', to: 'x', data: 1 })).toMatchObject({
      code: 'action_not_permitted',
    });
  });
});

describe('apps', () => {
  it('closes new sockets of a suspended app with 4012, and live ones on reload', async () => {
    const server = await startTestServer({ apps: [testApp({ suspended: true })] });
    const refused = connect(server, { key: PUBLISHABLE_KEY });
    expect((await refused.closed).code).toBe(4012);

    server.reload({ host: '127.0.0.1', port: 0, apps: [testApp()] });
    const live = await connectWithKey(server);
    const token = await connectWithToken(server, 'alice');
    server.reload({ host: '127.0.0.1', port: 0, apps: [testApp({ suspended: true })] });
    expect((await live.closed).code).toBe(4012);
    expect((await token.closed).code).toBe(4012);
  });

  it('closes the new socket with 4010 at the concurrent cap, not an old one', async () => {
    const server = await startTestServer({
      apps: [testApp({ plan: { maxConcurrentConnections: 2 } })],
    });
    const first = await connectWithKey(server);
    const second = await connectWithKey(server);
    const third = connect(server, { key: PUBLISHABLE_KEY });
    expect((await third.closed).code).toBe(4010);
    await first.sync();
    await second.sync();
    await first.close();
    const fourth = await connectWithKey(server);
    expect(fourth.ofType('welcome')).toHaveLength(1);
  });

  it('keeps the old config when a reload is invalid, and closes sockets of a removed app', async () => {
    const server = await startTestServer();
    const client = await connectWithKey(server);
    expect(() => server.reload({ apps: [] })).toThrow(/apps/);
    await client.sync();
    server.reload({
      apps: [testApp({ id: 'other', publishableKeys: [{ key: 'pk_other' }], secretKeys: [] })],
    });
    expect((await client.closed).code).toBe(4012);
    const refused = connect(server, { key: PUBLISHABLE_KEY });
    expect((await refused.closed).code).toBe(4001);
  });
});

describe('token time claims and headers', () => {
  /** Connects with a token signed at the clock's time and returns the close code, or 'welcome'. */
  async function outcome(
    server: Awaited<ReturnType<typeof startTestServer>>,
    options: Parameters<typeof signTestToken>[0],
  ): Promise<number | 'welcome'> {
    const client = connect(server, { token: await signTestToken(options) });
    const result = await Promise.race([
      client.welcome().then(() => 'welcome' as const),
      client.closed.then((closed) => closed.code),
    ]);
    client.terminate();
    return result;
  }

  it('accepts nbf and iat up to the clock tolerance (default 30 s) ahead of the server clock', async () => {
    const clock = new TestClock();
    const server = await startTestServer({ now: clock.now });
    const now = clock.time;
    const at = (seconds: number) => clock.seconds + seconds;
    expect(await outcome(server, { now, claims: { nbf: at(10) } })).toBe('welcome');
    expect(await outcome(server, { now, claims: { iat: at(10) } })).toBe('welcome');
    expect(await outcome(server, { now, claims: { nbf: at(29) } })).toBe('welcome');
    expect(await outcome(server, { now, claims: { nbf: at(40) } })).toBe(4001);
    expect(await outcome(server, { now, claims: { iat: at(40) } })).toBe(4001);
  });

  it('applies a configured clock tolerance', async () => {
    const clock = new TestClock();
    const server = await startTestServer({
      now: clock.now,
      apps: [testApp({ tokens: { clockToleranceSeconds: 0 } })],
    });
    const now = clock.time;
    expect(await outcome(server, { now, claims: { nbf: clock.seconds + 5 } })).toBe(4001);
    expect(await outcome(server, { now, claims: { iat: clock.seconds + 5 } })).toBe(4001);
    expect(await outcome(server, { now, claims: { nbf: clock.seconds } })).toBe('welcome');
  });

  it('still refuses an expired token with 4002 whatever the tolerance', async () => {
    const clock = new TestClock();
    const server = await startTestServer({ now: clock.now });
    expect(await outcome(server, { now: clock.time, exp: clock.seconds - 5 })).toBe(4002);
  });

  it('refuses a hand-signed token that lives longer than the maximum lifetime (default 1 day)', async () => {
    const clock = new TestClock();
    const server = await startTestServer({ now: clock.now });
    const now = clock.time;
    const day = 86_400;
    expect(await outcome(server, { now, exp: clock.seconds + day })).toBe('welcome');
    expect(await outcome(server, { now, exp: clock.seconds + day + 3600 })).toBe(4001);
    expect(
      await outcome(server, {
        now,
        exp: clock.seconds + 3600,
        claims: { iat: clock.seconds - day },
      }),
    ).toBe(4001);
  });

  it('applies a configured maximum lifetime, to hand-signed and minted tokens', async () => {
    const clock = new TestClock();
    const server = await startTestServer({
      now: clock.now,
      apps: [testApp({ tokens: { maxLifetimeSeconds: 600 } })],
    });
    const now = clock.time;
    expect(await outcome(server, { now, exp: clock.seconds + 600 })).toBe('welcome');
    expect(await outcome(server, { now, exp: clock.seconds + 900 })).toBe(4001);
    expect(
      await outcome(server, { now, exp: clock.seconds + 601, claims: { iat: clock.seconds } }),
    ).toBe(4001);
    const tooLong = await rest(server, 'POST', '/v1/tokens', {
      body: { peerId: 'alice', expiresInSec: 601 },
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toMatchObject({ error: 'invalid_request' });
    const minted = await rest(server, 'POST', '/v1/tokens', {
      body: { peerId: 'alice', expiresInSec: 600 },
    });
    expect(minted.status).toBe(200);
  });

  it.each([
    ['jku', 'https://attacker.example/keys.json'],
    ['jwk', { kty: 'oct', k: 'c2VjcmV0' }],
    ['x5u', 'https://attacker.example/cert.pem'],
    ['x5c', ['MIIB']],
    ['crit', ['exp']],
  ])('refuses a token with a %s header (4001)', async (name, value) => {
    const server = await startTestServer();
    // Signed by hand: jose will not sign a `crit` it does not understand.
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signingInput = `${encode({ alg: 'HS256', kid: SECRET_KEY_ID, typ: 'JWT', [name]: value })}.${encode({ sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 600 })}`;
    const signature = createHmac('sha256', SECRET).update(signingInput).digest('base64url');
    const client = connect(server, { token: `${signingInput}.${signature}` });
    expect((await client.closed).code).toBe(4001);
    expect(client.ofType('welcome')).toEqual([]);
  });

  it('accepts the same hand-signed token without those headers', async () => {
    const server = await startTestServer();
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signingInput = `${encode({ alg: 'HS256', kid: SECRET_KEY_ID, typ: 'JWT' })}.${encode({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 600 })}`;
    const signature = createHmac('sha256', SECRET).update(signingInput).digest('base64url');
    const client = connect(server, { token: `${signingInput}.${signature}` });
    expect((await client.welcome()).peerId).toBe('alice');
  });
});
