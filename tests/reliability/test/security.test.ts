import { createHmac } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import {
  startServer,
  TOKEN_EXPIRY_MARGIN_MS,
  type RunningServer,
  type StartServerOptions,
} from '@metered/server';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerConfig, useBroker } from './broker.js';
import { appConfig, bearer, signToken, type SecretKey } from './credentials.js';
import { httpRequest } from './http.js';
import { RawClient, terminateRawClients, type ConnectOutcome } from './raw-client.js';
import { ServerProcess } from './server-process.js';
import { LONG, report } from './settings.js';
import { eventually } from './wait.js';

useBroker();

// Attacks on the server, each expecting the exact close code, HTTP status or error code that
// the server contract gives (apps/server/README.md, /work specs): forged and oversized tokens,
// channel-pattern escapes, crossing apps, REST without the right secret, a foreign Origin,
// connection floods, slowloris upgrades and a consumer that stops reading.

const ALPHA = appConfig('alpha', { limits: { messagesPerSecond: 10_000, messageBurst: 10_000 } });
const BETA = appConfig('beta');
const SCOPED = appConfig('scoped', {
  channelPatterns: ['rooms/*', 'users/alice/**'],
  limits: { messagesPerSecond: 10_000, messageBurst: 10_000 },
});
const ORIGINS = appConfig('origins', { allowedOrigins: ['https://app.example.com'] });
const ALPHA_KEY = ALPHA.secretKeys[0] as SecretKey;
const BETA_KEY = BETA.secretKeys[0] as SecretKey;
const SCOPED_KEY = SCOPED.secretKeys[0] as SecretKey;

const servers: RunningServer[] = [];
afterEach(async () => {
  terminateRawClients();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** Every attack and its outcome, for the report. */
const outcomes: { group: string; attack: string; expected: string; observed: string }[] = [];
function record(group: string, attack: string, expected: string, observed: string): void {
  outcomes.push({ group, attack, expected, observed });
}

async function start(options: StartServerOptions = {}): Promise<RunningServer> {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    apps: [ALPHA, BETA, SCOPED, ORIGINS],
    drainTimeoutMs: 1_000,
    restRequestsPerMinute: 100_000,
    broker: brokerConfig(),
    ...options,
  });
  servers.push(server);
  return server;
}

function withToken(server: RunningServer, token: string, options = {}): RawClient {
  return new RawClient(`${server.url}/v1?token=${encodeURIComponent(token)}`, options);
}

function withKey(server: RunningServer, key: string, options = {}): RawClient {
  return new RawClient(`${server.url}/v1?key=${encodeURIComponent(key)}`, options);
}

function describeOutcome(outcome: ConnectOutcome): string {
  switch (outcome.kind) {
    case 'welcome':
      return 'welcome';
    case 'close':
      return `close ${outcome.code}`;
    case 'http':
      return `HTTP ${outcome.status}`;
    case 'error':
      return `error ${outcome.message}`;
  }
}

/** Connects with `token` and returns `welcome` or `close <code>` (or the HTTP status). */
async function tokenOutcome(server: RunningServer, token: string): Promise<string> {
  const client = withToken(server, token);
  const outcome = describeOutcome(await client.outcome);
  client.terminate();
  return outcome;
}

function base64url(value: string | Uint8Array): string {
  return Buffer.from(value).toString('base64url');
}

/** A JWT with any header, payload and signature, as an attacker builds it by hand. */
function forge(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signature = '',
): string {
  return `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}.${signature}`;
}

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 3600, ...extra };
}

async function hs256(
  key: SecretKey,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', kid: key.id, typ: 'JWT', ...header })
    .sign(new TextEncoder().encode(key.secret));
}

describe('JWT attacks', () => {
  it('refuses forged, confused, tampered, expired and oversized tokens with the contract close codes', async () => {
    const server = await start();
    const valid = await signToken(ALPHA_KEY, 'mallory');
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const publicPem = await exportSPKI(publicKey);
    const now = Math.floor(Date.now() / 1000);

    const cases: [string, string | Promise<string>, string][] = [
      ['a valid token (control)', valid, 'welcome'],
      ['alg none, no signature', forge({ alg: 'none', kid: ALPHA_KEY.id }, claims()), 'close 4001'],
      [
        'alg none, signature of a valid token kept',
        forge({ alg: 'none', kid: ALPHA_KEY.id }, claims(), signature),
        'close 4001',
      ],
      ['alg "None"', forge({ alg: 'None', kid: ALPHA_KEY.id }, claims()), 'close 4001'],
      ['no alg', forge({ kid: ALPHA_KEY.id }, claims()), 'close 4001'],
      [
        'RS256 signed with an RSA key, kid of the secret key',
        new SignJWT(claims())
          .setProtectedHeader({ alg: 'RS256', kid: ALPHA_KEY.id })
          .sign(privateKey),
        'close 4001',
      ],
      [
        'HS256 keyed with an RSA public key (HS/RS confusion)',
        new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256', kid: ALPHA_KEY.id })
          .sign(new TextEncoder().encode(publicPem)),
        'close 4001',
      ],
      [
        'HS512 with the right secret',
        new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS512', kid: ALPHA_KEY.id })
          .sign(new TextEncoder().encode(ALPHA_KEY.secret)),
        'close 4001',
      ],
      [
        'unknown kid',
        hs256({ id: 'sk_id_nobody', secret: ALPHA_KEY.secret }, claims()),
        'close 4001',
      ],
      ['no kid', forge({ alg: 'HS256' }, claims(), signature), 'close 4001'],
      [
        'kid "__proto__"',
        hs256({ id: '__proto__', secret: ALPHA_KEY.secret }, claims()),
        'close 4001',
      ],
      [
        'kid "constructor"',
        hs256({ id: 'constructor', secret: ALPHA_KEY.secret }, claims()),
        'close 4001',
      ],
      [
        'kid with a path',
        hs256({ id: `../../${ALPHA_KEY.id}`, secret: ALPHA_KEY.secret }, claims()),
        'close 4001',
      ],
      [
        'kid with SQL',
        hs256({ id: `${ALPHA_KEY.id}' OR '1'='1`, secret: ALPHA_KEY.secret }, claims()),
        'close 4001',
      ],
      [
        'kid with a NUL',
        hs256({ id: `${ALPHA_KEY.id}\u0000`, secret: ALPHA_KEY.secret }, claims()),
        'close 4001',
      ],
      ['kid as a number', hs256(ALPHA_KEY, claims(), { kid: 1 }), 'close 4001'],
      ['kid as a list', hs256(ALPHA_KEY, claims(), { kid: [ALPHA_KEY.id] }), 'close 4001'],
      [
        "kid of app beta, signed with alpha's secret",
        hs256({ id: BETA_KEY.id, secret: ALPHA_KEY.secret }, claims()),
        'close 4001',
      ],
      [
        'kid = a publishable key',
        hs256({ id: 'pk_live_alpha', secret: ALPHA_KEY.secret }, claims()),
        'close 4001',
      ],
      [
        'signature with one character changed',
        `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`,
        'close 4001',
      ],
      ['signature truncated', `${header}.${payload}.${signature.slice(0, -4)}`, 'close 4001'],
      ['signature removed', `${header}.${payload}.`, 'close 4001'],
      [
        'payload changed (sub), signature kept',
        `${header}.${base64url(JSON.stringify(claims({ sub: 'admin' })))}.${signature}`,
        'close 4001',
      ],
      ['a fourth segment', `${valid}.${signature}`, 'close 4001'],
      ['not a JWT', 'not-a-jwt', 'close 4001'],
      [
        "signed with another app's secret",
        hs256({ id: ALPHA_KEY.id, secret: BETA_KEY.secret }, claims()),
        'close 4001',
      ],
      ['expired a minute ago', hs256(ALPHA_KEY, claims({ exp: now - 60 })), 'close 4002'],
      [
        'exp = the current second, rounded down',
        hs256(ALPHA_KEY, claims({ exp: now })),
        'close 4002',
      ],
      ['exp as a string', hs256(ALPHA_KEY, claims({ exp: String(now + 3600) })), 'close 4001'],
      ['no exp', hs256(ALPHA_KEY, { sub: 'mallory' }), 'close 4001'],
      ['no sub', hs256(ALPHA_KEY, { exp: now + 3600 }), 'close 4001'],
      ['sub of 129 characters', hs256(ALPHA_KEY, claims({ sub: 'x'.repeat(129) })), 'close 4001'],
      ['sub with non-ASCII', hs256(ALPHA_KEY, claims({ sub: 'mallöry' })), 'close 4001'],
      ['sub as a number', hs256(ALPHA_KEY, claims({ sub: 42 })), 'close 4001'],
      [
        'metadata of 8 KiB + 1 byte',
        hs256(ALPHA_KEY, claims({ metadata: { pad: 'x'.repeat(8192 - 10 + 1) } })),
        'close 4001',
      ],
      [
        'metadata of exactly 8 KiB (control)',
        hs256(ALPHA_KEY, claims({ metadata: { pad: 'x'.repeat(8192 - 10) } })),
        'welcome',
      ],
      [
        'peerMetadata of 4 KiB + 1 byte',
        hs256(ALPHA_KEY, claims({ peerMetadata: { pad: 'x'.repeat(4096 - 10 + 1) } })),
        'close 4001',
      ],
      ['metadata as a list', hs256(ALPHA_KEY, claims({ metadata: [1, 2] })), 'close 4001'],
      ['channels as a string', hs256(ALPHA_KEY, claims({ channels: '**' })), 'close 4001'],
      [
        'permissions with an unknown action',
        hs256(ALPHA_KEY, claims({ permissions: ['admin'] })),
        'close 4001',
      ],
      [
        'channels: [] (no channel at all)',
        hs256(ALPHA_KEY, claims({ channels: [] })),
        'close 4003',
      ],
      [
        'a 20 KiB token (over the HTTP header limit)',
        hs256(ALPHA_KEY, claims({ pad: 'x'.repeat(20_000) })),
        'HTTP 431',
      ],
    ];
    const observed: string[] = [];
    for (const [name, token] of cases) {
      const outcome = await tokenOutcome(server, await token);
      observed.push(`${name}: ${outcome}`);
      record('jwt', name, cases.find(([other]) => other === name)?.[2] ?? '', outcome);
    }
    expect(observed).toEqual(cases.map(([name, , expected]) => `${name}: ${expected}`));
  });

  it('closes 4002 for a token that expires within the margin, on a server clock placed inside it', async () => {
    // `exp` is in whole seconds, so a token signed "now" has already expired: the margin (the
    // server refuses a token with less than TOKEN_EXPIRY_MARGIN_MS left) is only reached with the
    // server's clock placed just before `exp`, where the signature check still passes it.
    const exp = Math.floor(Date.now() / 1000) + 3600;
    let clock = 0;
    const server = await start({ now: () => clock });
    const token = await hs256(ALPHA_KEY, claims({ exp }));
    const cases: [string, number, string][] = [
      ['outside the margin (control)', exp * 1000 - TOKEN_EXPIRY_MARGIN_MS - 50, 'welcome'],
      ['at the margin', exp * 1000 - TOKEN_EXPIRY_MARGIN_MS, 'close 4002'],
      ['inside the margin', exp * 1000 - TOKEN_EXPIRY_MARGIN_MS / 2, 'close 4002'],
      ['1 ms before exp', exp * 1000 - 1, 'close 4002'],
    ];
    const observed: string[] = [];
    for (const [name, at, expected] of cases) {
      clock = at;
      const outcome = await tokenOutcome(server, token);
      observed.push(`${name}: ${outcome}`);
      record('jwt', `exp ${name}`, expected, outcome);
    }
    expect(observed).toEqual(cases.map(([name, , expected]) => `${name}: ${expected}`));
  });

  it('refuses a token whose channels or permissions exceed its key (4001), * never crossing /', async () => {
    const server = await start();
    const cases: [string, Record<string, unknown>, string][] = [
      ['channels within rooms/* (control)', { channels: ['rooms/a-*'] }, 'welcome'],
      ['channels rooms/** under key rooms/*', { channels: ['rooms/**'] }, 'close 4001'],
      ['channels rooms/*/x under key rooms/*', { channels: ['rooms/*/x'] }, 'close 4001'],
      ['channels ** under key rooms/*', { channels: ['**'] }, 'close 4001'],
      ['channels rooms* (no slash) under key rooms/*', { channels: ['rooms*'] }, 'close 4001'],
      ['channels ROOMS/* under key rooms/*', { channels: ['ROOMS/*'] }, 'close 4001'],
      ['channels with a Cyrillic о under key rooms/*', { channels: ['rооms/*'] }, 'close 4001'],
      [
        'channels rooms／* (fullwidth solidus) under key rooms/*',
        { channels: ['rooms／*'] },
        'close 4001',
      ],
      ['channels users/alice/** (control)', { channels: ['users/alice/**'] }, 'welcome'],
      ['channels users/*/** under key users/alice/**', { channels: ['users/*/**'] }, 'close 4001'],
      [
        'channels users/alice* under key users/alice/**',
        { channels: ['users/alice*'] },
        'close 4001',
      ],
    ];
    const observed: string[] = [];
    for (const [name, extra, expected] of cases) {
      const outcome = await tokenOutcome(server, await signToken(SCOPED_KEY, 'mallory', extra));
      observed.push(`${name}: ${outcome}`);
      record('jwt scope', name, expected, outcome);
    }
    expect(observed).toEqual(cases.map(([name, , expected]) => `${name}: ${expected}`));

    const noSend = appConfig('nosend');
    const limited = {
      ...noSend,
      publishableKeys: [],
      secretKeys: [{ ...noSend.secretKeys[0]!, actions: ['subscribe' as const] }],
    };
    const other = await start({ apps: [limited] });
    const escalation = await tokenOutcome(
      other,
      await signToken(noSend.secretKeys[0]!, 'mallory', { permissions: ['subscribe', 'send'] }),
    );
    record('jwt scope', 'permissions beyond the key (send)', 'close 4001', escalation);
    expect(escalation).toBe('close 4001');
  });
});

/** Every ASCII upper/lower-case spelling of `text`. */
function caseVariants(text: string): string[] {
  let variants = [''];
  for (const char of text) {
    const lower = char.toLowerCase();
    const upper = char.toUpperCase();
    variants = variants.flatMap((prefix) =>
      lower === upper ? [prefix + char] : [prefix + lower, prefix + upper],
    );
  }
  return variants;
}

describe('deep nesting', () => {
  /** A token signed by hand: jose would stringify the claims and overflow on deep ones. */
  function handSigned(key: SecretKey, claimsText: string): string {
    const head = base64url(JSON.stringify({ alg: 'HS256', kid: key.id, typ: 'JWT' }));
    const body = base64url(claimsText);
    const signature = createHmac('sha256', key.secret)
      .update(`${head}.${body}`)
      .digest('base64url');
    return `${head}.${body}.${signature}`;
  }

  const nested = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

  it('refuses claims and REST bodies nested deeper than 1000 levels (4001 / 400), not with 1011 / 500', async () => {
    const server = await start();
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const authorization = bearer(ALPHA_KEY);
    const receiver = withToken(server, await signToken(ALPHA_KEY, 'receiver'));
    await receiver.welcome();
    await receiver.request({ type: 'subscribe', channel: 'deep' });
    const publish = (depth: number) =>
      httpRequest(server.url, 'POST', '/v1/channels/deep/publish', {
        headers: { authorization, 'content-type': 'application/json' },
        body: `{"data":${nested(depth)}}`,
      });
    const mint = (depth: number) =>
      httpRequest(server.url, 'POST', '/v1/tokens', {
        headers: { authorization, 'content-type': 'application/json' },
        body: `{"peerId":"p","metadata":{"a":${nested(depth - 1)}}}`,
      });
    const connect = (claim: string, depth: number) =>
      tokenOutcome(
        server,
        handSigned(ALPHA_KEY, `{"sub":"p","exp":${exp},"${claim}":{"a":${nested(depth - 1)}}}`),
      );
    const observed = {
      restPublish1000: (await publish(1000)).status,
      restPublish1001: [(await publish(1001)).status, (await publish(1001)).body.error],
      restPublish10000: (await publish(10_000)).status,
      restToken1000: (await mint(1000)).status,
      restToken1001: (await mint(1001)).status,
      restToken4000: (await mint(4000)).status,
      metadata1000: await connect('metadata', 1000),
      metadata1001: await connect('metadata', 1001),
      metadata5000: await connect('metadata', 5000),
      peerMetadata1001: await connect('peerMetadata', 1001),
    };
    await receiver.sync();
    const received = receiver.ofType('message');
    expect(observed).toEqual({
      restPublish1000: 200,
      restPublish1001: [400, 'invalid_request'],
      restPublish10000: 400,
      restToken1000: 200,
      restToken1001: 400,
      restToken4000: 400,
      metadata1000: 'welcome',
      metadata1001: 'close 4001',
      metadata5000: 'close 4001',
      peerMetadata1001: 'close 4001',
    });
    expect(received).toHaveLength(1);
    for (const [name, value] of Object.entries(observed)) {
      record('deep nesting', name, JSON.stringify(value), JSON.stringify(value));
    }
  });
});

describe('channel-pattern escapes', () => {
  it('keeps a key scoped to rooms/* and users/alice/** inside its patterns', async () => {
    const server = await start();
    const client = withKey(server, 'pk_live_scoped');
    await client.welcome();
    const cases: [string, string][] = [
      ['rooms/a', 'ack'],
      ['rooms/', 'ack'],
      ['rooms/A', 'ack'],
      ['rooms/.*', 'ack'],
      ['rooms/a∕b', 'ack'], // U+2215 is not a separator: one segment, inside rooms/*
      ['rooms/a/b', 'channel_not_authorized'],
      ['rooms', 'channel_not_authorized'],
      ['rooms/a/', 'channel_not_authorized'],
      ['ROOMS/a', 'channel_not_authorized'],
      ['Rooms/a', 'channel_not_authorized'],
      ['rооms/a', 'channel_not_authorized'], // Cyrillic о
      ['rooms∕a', 'channel_not_authorized'], // division slash instead of /
      ['rooms／a', 'channel_not_authorized'], // fullwidth solidus
      ['rooms\\/a', 'channel_not_authorized'],
      ['users/alice/x', 'ack'],
      ['users/alice/x/y/z', 'ack'],
      ['users/alice', 'channel_not_authorized'],
      ['users/alice2/x', 'channel_not_authorized'],
      ['users/ALICE/x', 'channel_not_authorized'],
      ['users/alicе/x', 'channel_not_authorized'], // Cyrillic е
      ['users/alice\u200b/x', 'channel_not_authorized'], // zero-width space
      ['users/bob/../alice/x', 'channel_not_authorized'],
      ['_metered/rooms/a', 'channel_reserved'],
    ];
    const observed: string[] = [];
    for (const [channel, expected] of cases) {
      for (const type of ['subscribe', 'publish'] as const) {
        const reply = await client.request({
          type,
          channel,
          ...(type === 'publish' && { data: 1 }),
        });
        const outcome = reply.type === 'ack' ? 'ack' : String(reply.code);
        observed.push(`${type} ${channel}: ${outcome}`);
        record('channel scope', `${type} ${JSON.stringify(channel)}`, expected, outcome);
      }
    }
    expect(observed).toEqual(
      cases.flatMap(([channel, expected]) => [
        `subscribe ${channel}: ${expected}`,
        `publish ${channel}: ${expected}`,
      ]),
    );
    expect(client.isClosed).toBe(false);
  });

  it('refuses every case spelling of the reserved prefixes, on the socket and over REST', async () => {
    const server = await start();
    const client = withKey(server, 'pk_live_alpha');
    await client.welcome();
    const channels = ['_metered/', '_internal/', '_system/'].flatMap((prefix) =>
      caseVariants(prefix).map((variant) => `${variant}x`),
    );
    expect(channels).toHaveLength(128 + 256 + 64);
    const wrong: string[] = [];
    for (const channel of channels) {
      const subscribed = await client.request({ type: 'subscribe', channel });
      const published = await client.request({ type: 'publish', channel, data: 1 });
      if (subscribed.code !== 'channel_reserved')
        wrong.push(`subscribe ${channel}: ${JSON.stringify(subscribed)}`);
      if (published.code !== 'channel_reserved')
        wrong.push(`publish ${channel}: ${JSON.stringify(published)}`);
      const response = await httpRequest(
        server.url,
        'POST',
        `/v1/channels/${encodeURIComponent(channel)}/publish`,
        {
          headers: { authorization: bearer(ALPHA_KEY), 'content-type': 'application/json' },
          body: JSON.stringify({ data: 1 }),
        },
      );
      if (response.status !== 400 || response.body.error !== 'channel_reserved') {
        wrong.push(`REST publish ${channel}: ${response.status} ${response.text}`);
      }
    }
    const minted = await httpRequest(server.url, 'POST', '/v1/tokens', {
      headers: { authorization: bearer(ALPHA_KEY), 'content-type': 'application/json' },
      body: JSON.stringify({ peerId: 'p', channels: ['_SyStEm/**'] }),
    });
    record(
      'reserved',
      `${channels.length} spellings × subscribe, publish, REST publish`,
      'channel_reserved / 400',
      wrong.length === 0 ? 'channel_reserved / 400' : `${wrong.length} wrong`,
    );
    record(
      'reserved',
      'REST token with channels ["_SyStEm/**"]',
      '400 channel_reserved',
      `${minted.status} ${minted.body?.error}`,
    );
    expect(wrong).toEqual([]);
    expect([minted.status, minted.body.error]).toEqual([400, 'channel_reserved']);
  });
});

describe('app isolation', () => {
  it("keeps each app's channels, peers and REST data to itself, even for equal peer ids", async () => {
    const server = await start();
    const alphaAlice = withToken(server, await signToken(ALPHA_KEY, 'alice'));
    const betaAlice = withToken(server, await signToken(BETA_KEY, 'alice'));
    const betaBob = withToken(server, await signToken(BETA_KEY, 'bob'));
    for (const client of [alphaAlice, betaAlice, betaBob]) await client.welcome();
    for (const client of [alphaAlice, betaAlice, betaBob]) {
      expect((await client.request({ type: 'subscribe', channel: 'shared' })).type).toBe('ack');
    }
    const snapshot = (client: RawClient) =>
      client
        .ofType('presence')
        .filter((frame) => frame.channel === 'shared')
        .flatMap((frame) => frame.joined.map((peer: { peerId: string }) => peer.peerId));
    await alphaAlice.sync();
    await betaBob.sync();
    expect(snapshot(alphaAlice)).toEqual([]);

    // A publish in alpha reaches no one in beta.
    expect(
      (await alphaAlice.request({ type: 'publish', channel: 'shared', data: 'alpha only' })).type,
    ).toBe('ack');
    // A direct from alpha to a peer id that exists only in beta is not found.
    const toBob = await alphaAlice.request({ type: 'send', to: 'bob', data: 'hi' });
    // A direct in beta to "alice" reaches beta's alice, not alpha's.
    expect((await betaBob.request({ type: 'send', to: 'alice', data: 'beta only' })).type).toBe(
      'ack',
    );
    await Promise.all([alphaAlice.sync(), betaAlice.sync(), betaBob.sync()]);
    const messages = (client: RawClient) => client.ofType('message').map((frame) => frame.data);
    const directs = (client: RawClient) => client.ofType('direct').map((frame) => frame.data);

    const authorization = bearer(ALPHA_KEY);
    const peers = await httpRequest(server.url, 'GET', '/v1/channels/shared/peers', {
      headers: { authorization },
    });
    const published = await httpRequest(server.url, 'POST', '/v1/channels/shared/publish', {
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ data: 'rest alpha' }),
    });
    const usage = await httpRequest(server.url, 'GET', '/v1/usage', { headers: { authorization } });
    const kickBob = await httpRequest(server.url, 'DELETE', '/v1/peers/bob', {
      headers: { authorization },
    });
    const kickAlice = await httpRequest(server.url, 'DELETE', '/v1/peers/alice', {
      headers: { authorization },
    });
    const alphaClosed = await alphaAlice.closed;
    await Promise.all([betaAlice.sync(), betaBob.sync()]);

    const observed = {
      alphaSnapshot: snapshot(alphaAlice),
      betaBobSnapshot: snapshot(betaBob),
      sendToBetaOnlyPeer: toBob.code,
      alphaAliceMessages: messages(alphaAlice),
      betaAliceMessages: messages(betaAlice),
      betaBobMessages: messages(betaBob),
      alphaAliceDirects: directs(alphaAlice),
      betaAliceDirects: directs(betaAlice),
      restPeers: peers.body.peers.map((peer: { peerId: string }) => peer.peerId),
      restPublishDelivered: published.body.delivered,
      restUsage: [usage.body.appId, usage.body.concurrentNow],
      restKickBetaBob: kickBob.body.closed,
      restKickAlice: kickAlice.body.closed,
      alphaAliceClose: alphaClosed.code,
      betaStillOpen: [betaAlice.isClosed, betaBob.isClosed],
    };
    expect(observed).toEqual({
      alphaSnapshot: [],
      betaBobSnapshot: ['alice'],
      sendToBetaOnlyPeer: 'peer_not_found',
      // Only alpha's own REST publish reaches alpha's alice.
      alphaAliceMessages: ['rest alpha'],
      betaAliceMessages: [],
      betaBobMessages: [],
      alphaAliceDirects: [],
      betaAliceDirects: ['beta only'],
      restPeers: ['alice'],
      restPublishDelivered: 1,
      restUsage: ['alpha', 1],
      restKickBetaBob: 0,
      restKickAlice: 1,
      alphaAliceClose: 4020,
      betaStillOpen: [false, false],
    });
    record(
      'app isolation',
      'publish, direct, presence, REST peers/publish/usage/kick across apps',
      'nothing crosses',
      'nothing crosses',
    );
  });
});

describe('REST credentials', () => {
  it('answers 401 unauthorized on every route without the right secret key, with no effect', async () => {
    const server = await start();
    const victim = withToken(server, await signToken(ALPHA_KEY, 'victim'));
    await victim.welcome();
    await victim.request({ type: 'subscribe', channel: 'room' });
    const routes: [string, string, string?][] = [
      ['POST', '/v1/tokens', JSON.stringify({ peerId: 'p' })],
      ['GET', '/v1/channels/room/peers'],
      ['POST', '/v1/channels/room/publish', JSON.stringify({ data: 'forged' })],
      ['DELETE', '/v1/peers/victim'],
      ['GET', '/v1/usage'],
    ];
    const jwt = await signToken(ALPHA_KEY, 'p');
    const credentials: [string, string | undefined][] = [
      ['none', undefined],
      ['empty', ''],
      ['Bearer alone', 'Bearer'],
      ['key id without secret', `Bearer ${ALPHA_KEY.id}`],
      ['key id and empty secret', `Bearer ${ALPHA_KEY.id}:`],
      ['wrong secret', `Bearer ${ALPHA_KEY.id}:wrong`],
      ['secret with a character more', `Bearer ${ALPHA_KEY.id}:${ALPHA_KEY.secret}x`],
      ['secret with a character less', `Bearer ${ALPHA_KEY.id}:${ALPHA_KEY.secret.slice(0, -1)}`],
      ["another app's secret", `Bearer ${ALPHA_KEY.id}:${BETA_KEY.secret}`],
      ['unknown key id', `Bearer sk_id_nobody:${ALPHA_KEY.secret}`],
      ['publishable key', 'Bearer pk_live_alpha'],
      ['a JWT', `Bearer ${jwt}`],
      [
        'Basic scheme',
        `Basic ${Buffer.from(`${ALPHA_KEY.id}:${ALPHA_KEY.secret}`).toString('base64')}`,
      ],
      ['key id and secret swapped', `Bearer ${ALPHA_KEY.secret}:${ALPHA_KEY.id}`],
    ];
    const wrong: string[] = [];
    let cases = 0;
    for (const [method, path, body] of routes) {
      for (const [name, authorization] of credentials) {
        cases++;
        const response = await httpRequest(server.url, method, path, {
          headers: {
            ...(authorization !== undefined && { authorization }),
            ...(body !== undefined && { 'content-type': 'application/json' }),
          },
          ...(body !== undefined && { body }),
        });
        if (response.status !== 401 || response.body.error !== 'unauthorized') {
          wrong.push(`${method} ${path} with ${name}: ${response.status} ${response.text}`);
        }
      }
    }
    await victim.sync();
    record(
      'REST',
      `${routes.length} routes × ${credentials.length} bad credentials`,
      '401 unauthorized',
      wrong.length === 0 ? '401 unauthorized' : `${wrong.length} wrong`,
    );
    expect(wrong).toEqual([]);
    expect(cases).toBe(70);
    // Nothing happened: the victim was not kicked and received no forged message.
    expect(victim.isClosed).toBe(false);
    expect(victim.ofType('message')).toEqual([]);
  });
});

describe('Origin', () => {
  it('closes 4001 for every Origin but the exact allowed one', async () => {
    const server = await start();
    const cases: [string, string | undefined, string][] = [
      ['the allowed origin (control)', 'https://app.example.com', 'welcome'],
      ['no Origin', undefined, 'close 4001'],
      ['another site', 'https://evil.example.com', 'close 4001'],
      ['allowed origin as a prefix', 'https://app.example.com.evil.com', 'close 4001'],
      ['allowed origin as a suffix', 'https://evilapp.example.com', 'close 4001'],
      ['http instead of https', 'http://app.example.com', 'close 4001'],
      ['explicit default port', 'https://app.example.com:443', 'close 4001'],
      ['a path after the origin', 'https://app.example.com/', 'close 4001'],
      ['"null" (sandboxed frame, file:)', 'null', 'close 4001'],
      ['upper case', 'HTTPS://APP.EXAMPLE.COM', 'close 4001'],
      [
        'IDN look-alike (Cyrillic а, as a browser sends it)',
        new URL('https://аpp.example.com').origin,
        'close 4001',
      ],
    ];
    const observed: string[] = [];
    for (const [name, origin, expected] of cases) {
      const client = withKey(server, 'pk_live_origins', origin === undefined ? {} : { origin });
      const outcome = describeOutcome(await client.outcome);
      client.terminate();
      observed.push(`${name}: ${outcome}`);
      record('Origin', name, expected, outcome);
    }
    expect(observed).toEqual(cases.map(([name, , expected]) => `${name}: ${expected}`));
  });
});

describe('floods', () => {
  it('refuses the 61st upgrade in a minute from one address with HTTP 429 and Retry-After', async () => {
    // The limit is a bucket of 60 refilled at one a second: with the server's clock stopped, the
    // 61st attempt is refused however long the first 60 take to be welcomed.
    const stopped = Date.now();
    const server = await start({ apps: [appConfig('flood')], now: () => stopped });
    const accepted: RawClient[] = [];
    for (let index = 0; index < 60; index++) {
      const client = withKey(server, 'pk_live_flood');
      await client.welcome();
      accepted.push(client);
    }
    const refused = withKey(server, 'pk_live_flood');
    const outcome = await refused.outcome;
    // Attempts with an unknown key are limited too (under no app).
    const unknown: ConnectOutcome[] = [];
    for (let index = 0; index < 61; index++)
      unknown.push(await withKey(server, 'pk_live_nobody').outcome);
    await Promise.all(accepted.map((client) => client.sync()));
    record(
      'flood',
      '61st WebSocket upgrade from one address within a minute',
      'HTTP 429 + Retry-After',
      `${describeOutcome(outcome)}${outcome.kind === 'http' && outcome.headers['retry-after'] ? ' + Retry-After' : ''}`,
    );
    expect(
      outcome.kind === 'http' && [outcome.status, Number(outcome.headers['retry-after']) > 0],
    ).toEqual([429, true]);
    expect(unknown.slice(0, 60).map(describeOutcome)).toEqual(Array(60).fill('close 4001'));
    expect(describeOutcome(unknown[60] as ConnectOutcome)).toBe('HTTP 429');
    // The accepted sockets are untouched.
    expect(accepted.filter((client) => client.isClosed)).toEqual([]);
  });

  it('answers REST requests over the per-address limit with 429 rate_limited and Retry-After', async () => {
    const server = await start({ restRequestsPerMinute: 20 });
    const statuses: number[] = [];
    let last;
    for (let index = 0; index < 21; index++) {
      last = await httpRequest(server.url, 'GET', '/v1/usage', {
        headers: { authorization: bearer(ALPHA_KEY) },
      });
      statuses.push(last.status);
    }
    record(
      'flood',
      'REST request over restRequestsPerMinute',
      '429 rate_limited + Retry-After',
      `${last?.status} ${last?.body.error}${last?.headers['retry-after'] ? ' + Retry-After' : ''}`,
    );
    expect(statuses).toEqual([...Array(20).fill(200), 429]);
    expect([last?.body.error, Number(last?.headers['retry-after']) > 0]).toEqual([
      'rate_limited',
      true,
    ]);
  });

  it('keeps serving while slowloris upgrades drip their headers', async () => {
    const server = await start();
    const url = new URL(server.url);
    const count = LONG ? 500 : 100;
    const sockets: Socket[] = [];
    const answers = new Map<Socket, string>();
    for (let index = 0; index < count; index++) {
      const socket = tcpConnect(Number(url.port), url.hostname);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) =>
        answers.set(socket, (answers.get(socket) ?? '') + chunk.toString('latin1')),
      );
      socket.write(
        `GET /v1?key=pk_live_alpha HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n`,
      );
      sockets.push(socket);
    }
    let drip = 0;
    const timer = setInterval(() => {
      drip++;
      for (const socket of sockets)
        if (!socket.destroyed) socket.write(`X-Drip-${drip}: ${'x'.repeat(10)}\r\n`);
    }, 500);
    try {
      // Meanwhile a client connects, talks and the REST API answers.
      const client = withKey(server, 'pk_live_alpha');
      await client.welcome();
      expect((await client.request({ type: 'subscribe', channel: 'room' })).type).toBe('ack');
      const health = await httpRequest(server.url, 'GET', '/healthz');
      const usage = await httpRequest(server.url, 'GET', '/v1/usage', {
        headers: { authorization: bearer(ALPHA_KEY) },
      });
      expect([health.status, usage.body.concurrentNow]).toEqual([200, 1]);
      let closedByServer = 0;
      if (LONG) {
        // httpHeadersTimeoutMs (10 s by default, checked every 5 s) ends every slow upgrade with 408.
        const open = await eventually(
          () =>
            sockets.filter((socket) => !(answers.get(socket) ?? '').startsWith('HTTP/1.1 408'))
              .length,
          (value) => value === 0,
          { timeoutMs: 120_000, intervalMs: 1_000 },
        );
        expect(open).toBe(0);
        closedByServer = count;
      }
      record(
        'slowloris',
        `${count} upgrades dripping a header every 500 ms; meanwhile a client connects and subscribes, /healthz and /v1/usage answer${LONG ? '; each slow upgrade is ended by the server' : ''}`,
        LONG ? 'served; HTTP 408 to every slow upgrade' : 'served',
        `served${LONG ? `; HTTP 408 to ${closedByServer} of ${count}` : ''}`.replace(
          `HTTP 408 to ${count} of ${count}`,
          'HTTP 408 to every slow upgrade',
        ),
      );
    } finally {
      clearInterval(timer);
      for (const socket of sockets) socket.destroy();
    }
  });
});

describe('slow consumer', () => {
  it('closes a consumer that stops reading with 1008 and keeps server memory bounded', async () => {
    const bound = 1024 * 1024;
    const app = {
      ...appConfig('firehose', {
        limits: { messagesPerSecond: 100_000, messageBurst: 100_000 },
      }),
      // Channel history keeps what is published (bounded by its own caps, measured in
      // docs/BENCHMARKS.md); off here so that what is weighed is the slow consumer's buffers.
      history: { size: 0 },
    };
    const server = await ServerProcess.start({
      host: '127.0.0.1',
      port: 0,
      apps: [app],
      maxOutboundBufferBytes: bound,
      drainTimeoutMs: 1_000,
    });
    try {
      const url = `${server.url}/v1?key=pk_live_firehose`;
      const slow = new RawClient(url);
      const healthy = new RawClient(url);
      const publisher = new RawClient(url);
      for (const client of [slow, healthy, publisher]) await client.welcome();
      for (const client of [slow, healthy])
        await client.request({ type: 'subscribe', channel: 'firehose' });
      const before = await server.stats();
      // The slow consumer stops reading: its kernel buffers fill, then the server's.
      (slow.socket as unknown as { _socket: Socket })._socket.pause();

      const payload = 'x'.repeat(60_000);
      const messages = LONG ? 4_000 : 1_000; // ~60 MB or ~240 MB pushed at one stuck reader
      const members = async (): Promise<unknown[]> =>
        (
          await httpRequest(server.httpUrl, 'GET', '/v1/channels/firehose/peers', {
            headers: { authorization: bearer(app.secretKeys[0]!) },
          })
        ).body.peers as unknown[];
      let resumed = false;
      for (let index = 0; index < messages; index += 10) {
        const batch = Array.from({ length: 10 }, () =>
          publisher.request({ type: 'publish', channel: 'firehose', data: payload }),
        );
        expect((await Promise.all(batch)).every((reply) => reply.type === 'ack')).toBe(true);
        // Once the server dropped the stuck reader, it reads again: its close frame waits behind
        // what was buffered, and must be read before the server's closing handshake gives up
        // (`ws` destroys the socket 30 s after its close frame, which the reader would see as 1006).
        if (!resumed && index % 50 === 0 && (await members()).length === 1) {
          (slow.socket as unknown as { _socket: Socket })._socket.resume();
          resumed = true;
        }
      }
      await healthy.sync();
      const during = await server.stats();
      const pushedBytes = messages * payload.length;
      const grown =
        during.memory.heapUsed +
        during.memory.external -
        (before.memory.heapUsed + before.memory.external);
      const roster = await httpRequest(server.httpUrl, 'GET', '/v1/channels/firehose/peers', {
        headers: { authorization: bearer(app.secretKeys[0]!) },
      });
      if (!resumed) (slow.socket as unknown as { _socket: Socket })._socket.resume();
      const slowClose = await slow.closed;
      const slowReceived = slow.ofType('message').length;
      const healthyCount = healthy.ofType('message').length;
      record(
        'slow consumer',
        `reader paused, ${messages} × 60 kB published (bound ${bound / 1024} KiB): server heap+external grew ${(grown / 1024 / 1024).toFixed(1)} MiB for ${(pushedBytes / 1024 / 1024).toFixed(0)} MiB pushed; the stuck reader got ${slowReceived}, the healthy one ${healthyCount}`,
        'close 1008, memory bounded',
        `close ${slowClose.code}, memory ${grown < pushedBytes / 4 ? 'bounded' : 'unbounded'}`,
      );
      expect(slowClose.code).toBe(1008);
      // Delivery to others never stopped; the stuck reader got only what fitted in the buffers.
      expect(healthyCount).toBe(messages);
      expect(slowReceived).toBeLessThan(messages);
      expect(roster.body.peers).toHaveLength(1);
      // Without the bound the server would keep every frame for the stuck reader (all of
      // pushedBytes); with it, it holds about `bound` plus socket buffers. A quarter of what was
      // pushed separates the two without depending on GC timing.
      expect(grown).toBeLessThan(pushedBytes / 4);
      expect(server.errors()).toEqual([]);
    } finally {
      terminateRawClients();
      await server.kill();
    }
  });
});

describe('report', () => {
  it('lists every attack with the outcome expected and observed', async () => {
    const mismatches = outcomes.filter((outcome) => outcome.expected !== outcome.observed);
    const groups: Record<string, number> = {};
    for (const outcome of outcomes) groups[outcome.group] = (groups[outcome.group] ?? 0) + 1;
    await report(
      'security',
      { cases: outcomes.length, mismatches: mismatches.length, groups },
      { outcomes },
    );
    expect(mismatches).toEqual([]);
  });
});
