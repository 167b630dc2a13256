// Every REST route against secret keys of every kind of scope: what each key may do, and the
// 403 `{error, message}` for the rest, with no effect.
import { describe, expect, it } from 'vitest';
import { connect, rest, signTestToken, startTestServer, testApp } from './helpers.js';

const ALL = ['subscribe', 'publish', 'presence', 'send'] as const;

/** The keys of the matrix: id → actions and channel patterns. */
const KEYS = {
  full: { actions: [...ALL], channelPatterns: ['**'] },
  subscribePublic: { actions: ['subscribe'], channelPatterns: ['public/*'] },
  publishPublic: { actions: ['publish'], channelPatterns: ['public/*'] },
  presencePublic: { actions: ['presence'], channelPatterns: ['public/*'] },
  allActionsPublic: { actions: [...ALL], channelPatterns: ['public/*'] },
  allChannelsNoSend: { actions: ['subscribe', 'publish', 'presence'], channelPatterns: ['**'] },
} as const;
type KeyName = keyof typeof KEYS;

const OK = 200;
const ACTION = 'action_not_permitted';
const CHANNEL = 'channel_not_authorized';
type Expected = typeof OK | typeof ACTION | typeof CHANNEL;

interface RouteCase {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly expected: Record<KeyName, Expected>;
}

const ROUTES: readonly RouteCase[] = [
  {
    name: 'mint a token with the key’s own scope',
    method: 'POST',
    path: '/v1/tokens',
    body: { peerId: 'minted' },
    expected: {
      full: OK,
      subscribePublic: OK,
      publishPublic: OK,
      presencePublic: OK,
      allActionsPublic: OK,
      allChannelsNoSend: OK,
    },
  },
  {
    name: 'mint a subscribe token for public/a',
    method: 'POST',
    path: '/v1/tokens',
    body: { peerId: 'minted', channels: ['public/a'], permissions: ['subscribe'] },
    expected: {
      full: OK,
      subscribePublic: OK,
      publishPublic: ACTION,
      presencePublic: ACTION,
      allActionsPublic: OK,
      allChannelsNoSend: OK,
    },
  },
  {
    name: 'mint a token for private/a',
    method: 'POST',
    path: '/v1/tokens',
    body: { peerId: 'minted', channels: ['private/a'] },
    expected: {
      full: OK,
      subscribePublic: CHANNEL,
      publishPublic: CHANNEL,
      presencePublic: CHANNEL,
      allActionsPublic: CHANNEL,
      allChannelsNoSend: OK,
    },
  },
  {
    name: 'mint a send token',
    method: 'POST',
    path: '/v1/tokens',
    body: { peerId: 'minted', permissions: ['send'] },
    expected: {
      full: OK,
      subscribePublic: ACTION,
      publishPublic: ACTION,
      presencePublic: ACTION,
      allActionsPublic: OK,
      allChannelsNoSend: ACTION,
    },
  },
  {
    name: 'list the peers of public/a',
    method: 'GET',
    path: '/v1/channels/public%2Fa/peers',
    expected: {
      full: OK,
      subscribePublic: ACTION,
      publishPublic: ACTION,
      presencePublic: OK,
      allActionsPublic: OK,
      allChannelsNoSend: OK,
    },
  },
  {
    name: 'list the peers of private/a',
    method: 'GET',
    path: '/v1/channels/private%2Fa/peers',
    expected: {
      full: OK,
      subscribePublic: ACTION,
      publishPublic: ACTION,
      presencePublic: CHANNEL,
      allActionsPublic: CHANNEL,
      allChannelsNoSend: OK,
    },
  },
  {
    name: 'publish to public/a',
    method: 'POST',
    path: '/v1/channels/public%2Fa/publish',
    body: { data: 'hello' },
    expected: {
      full: OK,
      subscribePublic: ACTION,
      publishPublic: OK,
      presencePublic: ACTION,
      allActionsPublic: OK,
      allChannelsNoSend: OK,
    },
  },
  {
    name: 'publish to private/a',
    method: 'POST',
    path: '/v1/channels/private%2Fa/publish',
    body: { data: 'hello' },
    expected: {
      full: OK,
      subscribePublic: ACTION,
      publishPublic: CHANNEL,
      presencePublic: ACTION,
      allActionsPublic: CHANNEL,
      allChannelsNoSend: OK,
    },
  },
  {
    name: 'read the history of public/a',
    method: 'GET',
    path: '/v1/channels/public%2Fa/history',
    expected: {
      full: OK,
      subscribePublic: OK,
      publishPublic: ACTION,
      presencePublic: ACTION,
      allActionsPublic: OK,
      allChannelsNoSend: OK,
    },
  },
  {
    name: 'read the history of private/a',
    method: 'GET',
    path: '/v1/channels/private%2Fa/history',
    expected: {
      full: OK,
      subscribePublic: CHANNEL,
      publishPublic: ACTION,
      presencePublic: ACTION,
      allActionsPublic: CHANNEL,
      allChannelsNoSend: OK,
    },
  },
  {
    // A kick reaches a peer whatever its channels and permissions: only a key that could have
    // granted all of them (every action, every channel) may do it.
    name: 'kick a peer',
    method: 'DELETE',
    path: '/v1/peers/alice',
    expected: {
      full: OK,
      subscribePublic: ACTION,
      publishPublic: ACTION,
      presencePublic: ACTION,
      allActionsPublic: CHANNEL,
      allChannelsNoSend: ACTION,
    },
  },
  {
    name: 'read the usage',
    method: 'GET',
    path: '/v1/usage',
    expected: {
      full: OK,
      subscribePublic: OK,
      publishPublic: OK,
      presencePublic: OK,
      allActionsPublic: OK,
      allChannelsNoSend: OK,
    },
  },
];

const app = testApp({
  secretKeys: Object.entries(KEYS).map(([id, scope]) => ({
    id,
    secret: `secret-${id}`,
    actions: [...scope.actions],
    channelPatterns: [...scope.channelPatterns],
  })),
});

const cases = ROUTES.flatMap((route) =>
  (Object.keys(KEYS) as KeyName[]).map(
    (key) => [route.name, key, route, route.expected[key]] as const,
  ),
);

describe('REST authorisation: route × key scope', () => {
  it.each(cases)('%s with key %s', async (_name, key, route, expected) => {
    const server = await startTestServer({ apps: [app] });
    // Alice is online on a public channel, so that a kick or a publish would show.
    const alice = connect(server, {
      token: await signTestToken({ sub: 'alice', kid: 'full', secret: 'secret-full' }),
    });
    await alice.welcome();
    expect(await alice.request({ type: 'subscribe', channel: 'public/a' })).toMatchObject({
      type: 'ack',
    });
    const response = await rest(server, route.method, route.path, {
      authorization: `Bearer ${key}:secret-${key}`,
      ...(route.body !== undefined && { body: route.body }),
    });
    if (expected === OK) {
      expect(response.status).toBe(200);
    } else {
      expect(response.status).toBe(403);
      expect(response.body).toEqual({ error: expected, message: expect.any(String) });
    }
    if (expected === OK) {
      if (route.method === 'DELETE') expect((await alice.closed).code).toBe(4020);
    } else {
      // A refused request has no effect: alice is still connected and got no message.
      await alice.sync();
      expect(alice.ofType('message')).toEqual([]);
      expect(alice.socket.readyState).toBe(alice.socket.OPEN);
    }
  });
});
