import {
  MeteredPeer,
  type RemotePeer,
  SignallingClient,
  SignallingConnectError,
  type SignallingClientEventMap,
  type SignallingClientOptions,
} from '@metered-ca/realtime';
import { startServer, type RunningServer, type StartServerOptions } from '@metered/server';
import { createBrowserLikeWebSocketFactory } from '@metered/signalling/testing';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FakePeerConnection } from './fake-peer-connection.js';

const PUBLISHABLE_KEY = 'pk_live_conformance';
const SECRET_KEY_ID = 'sk_id_conformance';
const SECRET = 'sk_secret_conformance';
const ALL_ACTIONS = ['subscribe', 'publish', 'presence', 'send'] as const;

/** `ws` with a browser's event delivery: the SDK is written for a browser's task per message. */
const browserLikeWebSockets = createBrowserLikeWebSocketFactory(WebSocket);
const servers: RunningServer[] = [];
const clients: { close(): Promise<void> | void }[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) {
    try {
      await client.close();
    } catch {
      // already closed
    }
  }
  browserLikeWebSockets.terminateAll();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(options: StartServerOptions = {}): Promise<RunningServer> {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    drainTimeoutMs: 2000,
    apps: [
      {
        id: 'conformance',
        publishableKeys: [
          { key: PUBLISHABLE_KEY, channelPatterns: ['**'], actions: [...ALL_ACTIONS] },
        ],
        secretKeys: [
          { id: SECRET_KEY_ID, secret: SECRET, channelPatterns: ['**'], actions: [...ALL_ACTIONS] },
        ],
      },
    ],
    ...options,
  });
  servers.push(server);
  return server;
}

async function mintToken(
  peerId: string,
  options: { now?: number; secret?: string; claims?: Record<string, unknown> } = {},
): Promise<string> {
  const now = options.now ?? Date.now();
  return new SignJWT({ ...options.claims })
    .setProtectedHeader({ alg: 'HS256', kid: SECRET_KEY_ID, typ: 'JWT' })
    .setSubject(peerId)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(now / 1000) + 3600)
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

type Credentials = Pick<SignallingClientOptions, 'apiKey' | 'tokenProvider'>;

function signallingClient(server: RunningServer, credentials: Credentials): SignallingClient {
  const client = new SignallingClient({
    url: server.url,
    webSocketFactory: browserLikeWebSockets,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200, jitterRatio: 0 },
    ...credentials,
  });
  clients.push(client);
  return client;
}

/** Resolves with the first event of that name whose payload matches. */
function nextEvent<K extends keyof SignallingClientEventMap>(
  client: SignallingClient,
  event: K,
  predicate: (payload: SignallingClientEventMap[K]) => boolean = () => true,
): Promise<SignallingClientEventMap[K]> {
  return new Promise((resolve) => {
    const handler = (payload: SignallingClientEventMap[K]): void => {
      if (!predicate(payload)) return;
      client.off(event, handler);
      resolve(payload);
    };
    client.on(event, handler);
  });
}

describe('vendor SignallingClient against the server', () => {
  it('connects with a publishable key', async () => {
    const server = await start();
    const client = signallingClient(server, { apiKey: PUBLISHABLE_KEY });
    const connected = nextEvent(client, 'connected');
    await client.connect();
    const event = await connected;
    expect(event.peerId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.expiresAt).toBeNull();
    expect(event.isReconnect).toBe(false);
    expect(event.maxMessageSize).toBe(65536);
    expect(client.state).toBe('connected');
  });

  it('connects with a token provider, the token sub becoming the peer id', async () => {
    const server = await start();
    const client = signallingClient(server, { tokenProvider: () => mintToken('alice') });
    const connected = nextEvent(client, 'connected');
    await client.connect();
    expect((await connected).peerId).toBe('alice');
  });

  it('subscribes and receives the presence snapshot and joins', async () => {
    const server = await start();
    const alice = signallingClient(server, { tokenProvider: () => mintToken('alice') });
    const bob = signallingClient(server, { tokenProvider: () => mintToken('bob') });
    await alice.connect();
    await bob.connect();
    const aliceSnapshot = nextEvent(alice, 'presence');
    await alice.subscribe('room');
    expect(await aliceSnapshot).toMatchObject({ channel: 'room', joined: [], left: [] });
    const aliceSeesBob = nextEvent(alice, 'presence', (event) => event.joined.length > 0);
    const bobSnapshot = nextEvent(bob, 'presence');
    await bob.subscribe('room');
    expect((await bobSnapshot).joined.map((member) => member.peerId)).toEqual(['alice']);
    expect((await aliceSeesBob).joined.map((member) => member.peerId)).toEqual(['bob']);
  });

  it('publishes and receives, without echo', async () => {
    const server = await start();
    const alice = signallingClient(server, { tokenProvider: () => mintToken('alice') });
    const bob = signallingClient(server, { tokenProvider: () => mintToken('bob') });
    await alice.connect();
    await bob.connect();
    await alice.subscribe('room');
    await bob.subscribe('room');
    const echoes: unknown[] = [];
    alice.on('message', (event) => echoes.push(event));
    const received = nextEvent(bob, 'message');
    await alice.publish('room', { text: 'hello' });
    expect(await received).toMatchObject({
      channel: 'room',
      from: 'alice',
      data: { text: 'hello' },
    });
    await alice.publish('room', null);
    expect(echoes).toEqual([]);
  });

  it('sends a direct message', async () => {
    const server = await start();
    const alice = signallingClient(server, {
      tokenProvider: () => mintToken('alice', { claims: { peerMetadata: { name: 'Alice' } } }),
    });
    const bob = signallingClient(server, { tokenProvider: () => mintToken('bob') });
    await alice.connect();
    await bob.connect();
    const direct = nextEvent(bob, 'direct');
    await alice.send('bob', { hello: 1 });
    expect(await direct).toMatchObject({
      from: 'alice',
      data: { hello: 1 },
      fromMetadata: { name: 'Alice' },
    });
  });

  it('rejects a send to an offline peer with peer_not_found', async () => {
    const server = await start();
    const client = signallingClient(server, { apiKey: PUBLISHABLE_KEY });
    await client.connect();
    await expect(client.send('nobody', 1)).rejects.toMatchObject({ name: 'peer_not_found' });
    expect(client.state).toBe('connected');
  });

  it('rejects a reserved channel with channel_reserved', async () => {
    const server = await start();
    const client = signallingClient(server, { apiKey: PUBLISHABLE_KEY });
    await client.connect();
    await expect(client.subscribe('_metered/internal')).rejects.toMatchObject({
      name: 'channel_reserved',
    });
    await client.subscribe('fine');
  });

  it('treats 4001 as terminal: connect rejects and the client stays closed', async () => {
    const server = await start();
    let calls = 0;
    const client = signallingClient(server, {
      tokenProvider: () => {
        calls++;
        return mintToken('mallory', { secret: 'not-the-secret' });
      },
    });
    const error = await client.connect().then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(SignallingConnectError);
    expect((error as SignallingConnectError).closeCode).toBe(4001);
    expect(client.state).toBe('closed');
    expect(calls).toBe(1);
  });

  it('reconnects after 4002 with a fresh token', async () => {
    let offset = 0;
    const now = (): number => Date.now() + offset;
    const server = await start({ now });
    const tokens: string[] = [];
    const client = signallingClient(server, {
      tokenProvider: async () => {
        const token = await mintToken('alice', { now: now() });
        tokens.push(token);
        return token;
      },
    });
    const first = nextEvent(client, 'connected');
    await client.connect();
    const firstEvent = await first;
    const disconnected = nextEvent(client, 'disconnected');
    const reconnected = nextEvent(client, 'connected', (event) => event.isReconnect);
    offset = 3600 * 1000; // the token's exp is now in the past on the server's clock
    await client.publish('room', 1).catch(() => undefined);
    expect(await disconnected).toMatchObject({ code: 4002, willReconnect: true });
    const secondEvent = await reconnected;
    expect(tokens).toHaveLength(2);
    expect(secondEvent.peerId).toBe('alice');
    expect(secondEvent.expiresAt).toBeGreaterThan(firstEvent.expiresAt as number);
  });

  it('treats a REST kick (4020) as terminal', async () => {
    const server = await start();
    const client = signallingClient(server, { tokenProvider: () => mintToken('kick-me') });
    await client.connect();
    const disconnected = nextEvent(client, 'disconnected');
    const response = await fetch(`${server.url.replace('ws', 'http')}/v1/peers/kick-me`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${SECRET_KEY_ID}:${SECRET}` },
    });
    expect(await response.json()).toEqual({ peerId: 'kick-me', closed: 1 });
    expect(await disconnected).toMatchObject({ code: 4020, willReconnect: false });
    expect(client.state).toBe('closed');
  });

  it('gets going_away then a 1001 close on server shutdown, and plans to reconnect', async () => {
    const server = await start({ shutdownRetryAfterMs: 1500 });
    const client = signallingClient(server, { apiKey: PUBLISHABLE_KEY });
    await client.connect();
    const goingAway = nextEvent(client, 'going-away');
    const disconnected = nextEvent(client, 'disconnected');
    await server.close();
    expect(await goingAway).toEqual({ retryAfterMs: 1500 });
    expect(await disconnected).toMatchObject({ code: 1001, willReconnect: true });
    await client.close();
  });
  it('is refused with 4012 for a suspended app (terminal) and 4010 at the concurrent cap', async () => {
    const suspended = await start();
    suspended.reload({
      apps: [{ id: 'conformance', suspended: true, publishableKeys: [{ key: PUBLISHABLE_KEY }] }],
    });
    const refused = signallingClient(suspended, { apiKey: PUBLISHABLE_KEY });
    await expect(refused.connect()).rejects.toMatchObject({ closeCode: 4012 });
    expect(refused.state).toBe('closed');

    const capped = await start();
    capped.reload({
      apps: [
        {
          id: 'conformance',
          publishableKeys: [{ key: PUBLISHABLE_KEY }],
          plan: { maxConcurrentConnections: 1 },
        },
      ],
    });
    const first = signallingClient(capped, { apiKey: PUBLISHABLE_KEY });
    await first.connect();
    const second = signallingClient(capped, { apiKey: PUBLISHABLE_KEY });
    await expect(second.connect()).rejects.toMatchObject({ closeCode: 4010 });
  });

  it('delivers sender metadata to a subscriber that asked for it', async () => {
    const server = await start();
    const alice = signallingClient(server, {
      tokenProvider: () => mintToken('alice', { claims: { peerMetadata: { name: 'Alice' } } }),
    });
    const bob = signallingClient(server, { tokenProvider: () => mintToken('bob') });
    await alice.connect();
    await bob.connect();
    await bob.subscribe('room', { includeSenderMetadata: true });
    const received = nextEvent(bob, 'message');
    await alice.publish('room', 'hi');
    expect(await received).toMatchObject({
      from: 'alice',
      data: 'hi',
      fromMetadata: { name: 'Alice' },
    });
  });

  it('announces a departure inferred from the socket close', async () => {
    const server = await start();
    const alice = signallingClient(server, { tokenProvider: () => mintToken('alice') });
    const bob = signallingClient(server, { tokenProvider: () => mintToken('bob') });
    await alice.connect();
    await bob.connect();
    await alice.subscribe('room');
    await bob.subscribe('room');
    const left = nextEvent(alice, 'presence', (event) => event.left.length > 0);
    await bob.close();
    expect((await left).left.map((member) => member.peerId)).toEqual(['bob']);
  });
});

describe('vendor MeteredPeer against the server', () => {
  it('two peers joining one channel see each other (peer-joined both ways) and leave', async () => {
    const server = await start();
    const peer = (id: string): MeteredPeer => {
      const instance = new MeteredPeer({
        url: server.url,
        tokenProvider: () => mintToken(id, { claims: { peerMetadata: { name: id } } }),
        webSocketFactory: browserLikeWebSockets,
        rtcPeerConnectionFactory: FakePeerConnection.factory,
        reconnect: { initialDelayMs: 50, maxDelayMs: 200, jitterRatio: 0 },
      });
      clients.push(instance);
      return instance;
    };
    const alice = peer('alice');
    const bob = peer('bob');
    const aliceSeesBob = new Promise<RemotePeer>((resolve) =>
      alice.on('peer-joined', ({ peer: remote }) => resolve(remote)),
    );
    const bobSeesAlice = new Promise<RemotePeer>((resolve) =>
      bob.on('peer-joined', ({ peer: remote }) => resolve(remote)),
    );
    await alice.join('room');
    await bob.join('room');
    const [seenByAlice, seenByBob] = await Promise.all([aliceSeesBob, bobSeesAlice]);
    expect(seenByAlice.id).toBe('bob');
    expect(seenByAlice.metadata).toEqual({ name: 'bob' });
    expect(seenByBob.id).toBe('alice');
    expect(alice.remotePeers.map((remote) => remote.id)).toEqual(['bob']);

    const aliceSeesBobLeave = new Promise<string>((resolve) =>
      alice.on('peer-left', ({ peer: remote }) => resolve(remote.id)),
    );
    void bob.close();
    expect(await aliceSeesBobLeave).toBe('bob');
  });

  it('carries broadcast and direct data between two joined peers', async () => {
    const server = await start();
    const peer = (id: string): MeteredPeer => {
      const instance = new MeteredPeer({
        url: server.url,
        tokenProvider: () => mintToken(id),
        webSocketFactory: browserLikeWebSockets,
        rtcPeerConnectionFactory: FakePeerConnection.factory,
      });
      clients.push(instance);
      return instance;
    };
    const alice = peer('alice');
    const bob = peer('bob');
    const bobKnowsAlice = new Promise<void>((resolve) => bob.on('peer-joined', () => resolve()));
    await alice.join('room');
    await bob.join('room');
    await bobKnowsAlice;
    const received: { senderPeerId: string; data: unknown; kind: string }[] = [];
    const twoData = new Promise<void>((resolve) =>
      bob.on('data', (event) => {
        received.push({ senderPeerId: event.senderPeerId, data: event.data, kind: event.kind });
        if (received.length === 2) resolve();
      }),
    );
    await alice.send({ to: 'everyone' });
    await alice.sendTo('bob', { to: 'bob' });
    await twoData;
    expect(received).toEqual([
      { senderPeerId: 'alice', data: { to: 'everyone' }, kind: 'broadcast' },
      { senderPeerId: 'alice', data: { to: 'bob' }, kind: 'direct' },
    ]);
  });

  it('sees a peer id that joins again from a second socket as left, then joined (rule 6)', async () => {
    const server = await start();
    const peer = (id: string): MeteredPeer => {
      const instance = new MeteredPeer({
        url: server.url,
        tokenProvider: () => mintToken(id),
        webSocketFactory: browserLikeWebSockets,
        rtcPeerConnectionFactory: FakePeerConnection.factory,
      });
      clients.push(instance);
      return instance;
    };
    const alice = peer('alice');
    const events: string[] = [];
    const rejoined = new Promise<RemotePeer>((resolve) => {
      let joins = 0;
      alice.on('peer-joined', ({ peer: remote }) => {
        events.push(`joined:${remote.id}`);
        if (++joins === 2) resolve(remote);
      });
    });
    alice.on('peer-left', ({ peer: remote }) => events.push(`left:${remote.id}`));
    await alice.join('room');
    const firstBob = peer('bob');
    await firstBob.join('room');
    const secondBob = peer('bob');
    await secondBob.join('room');
    const fresh = await rejoined;
    expect(events).toEqual(['joined:bob', 'left:bob', 'joined:bob']);
    expect(alice.remotePeers).toEqual([fresh]);
  });
});
