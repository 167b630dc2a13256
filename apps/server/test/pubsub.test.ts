import { describe, expect, it } from 'vitest';
import {
  connect,
  connectWithKey,
  connectWithToken,
  signTestToken,
  startTestServer,
  testApp,
  PLAIN_V1,
} from './helpers.js';

describe('welcome', () => {
  it('is the first frame, with a UUID peer id and expiresAt null for a publishable key', async () => {
    const server = await startTestServer({ extensions: PLAIN_V1 });
    const client = await connectWithKey(server);
    const welcome = await client.next();
    expect(Object.keys(welcome)).toEqual([
      'type',
      'peerId',
      'expiresAt',
      'serverTime',
      'maxMessageSize',
      // Protocol extensions (on by default); a server with them off sends the keys above only.
      'extensions',
    ]);
    expect(welcome.type).toBe('welcome');
    expect(welcome.peerId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(welcome.expiresAt).toBeNull();
    expect(typeof welcome.serverTime).toBe('number');
    expect(welcome.maxMessageSize).toBe(65536);
  });

  it('assigns a fresh peer id on every key connect', async () => {
    const server = await startTestServer();
    const first = await connectWithKey(server);
    const second = await connectWithKey(server);
    expect((await first.welcome()).peerId).not.toBe((await second.welcome()).peerId);
  });

  it('echoes the token metadata claim, its sub as peer id and exp as expiresAt', async () => {
    const server = await startTestServer();
    const exp = Math.floor(Date.now() / 1000) + 600;
    const token = await signTestToken({
      sub: 'alice',
      exp,
      claims: { metadata: { plan: 'gold' } },
    });
    const client = connect(server, { token });
    const welcome = await client.welcome();
    expect(welcome).toMatchObject({ peerId: 'alice', expiresAt: exp, metadata: { plan: 'gold' } });
  });

  it("injects the app's iceServers into metadata unless the token brings its own", async () => {
    const iceServers = [{ urls: 'turn:turn.example.com:3478', username: 'u', credential: 'c' }];
    const server = await startTestServer({ apps: [testApp({ iceServers })] });
    const keyClient = await connectWithKey(server);
    expect((await keyClient.welcome()).metadata).toEqual({ iceServers });
    const plain = await connectWithToken(server, 'bob', { metadata: { room: 1 } });
    expect((await plain.welcome()).metadata).toEqual({ room: 1, iceServers });
    const own = [{ urls: 'stun:stun.example.com' }];
    const custom = await connectWithToken(server, 'carol', { metadata: { iceServers: own } });
    expect((await custom.welcome()).metadata).toEqual({ iceServers: own });
  });

  it('uses maxMessageSize and serverTime from the app and the clock', async () => {
    const server = await startTestServer({
      apps: [testApp({ limits: { maxMessageSize: 1024 } })],
      now: () => 1_767_225_600_000,
    });
    const client = await connectWithKey(server);
    expect(await client.welcome()).toMatchObject({
      serverTime: 1_767_225_600_000,
      maxMessageSize: 1024,
    });
  });
});

describe('subscribe and presence', () => {
  it('answers with the ack first, then a snapshot of the members (empty for the first)', async () => {
    const server = await startTestServer({ extensions: PLAIN_V1 });
    const client = await connectWithKey(server);
    await client.next(); // welcome
    client.sendJson({ type: 'subscribe', channel: 'room', requestId: 'r1' });
    expect(await client.next()).toEqual({ type: 'ack', requestId: 'r1' });
    expect(await client.next()).toEqual({
      type: 'presence',
      channel: 'room',
      joined: [],
      left: [],
    });
  });

  it('lists every current member in the snapshot and announces the newcomer to the others', async () => {
    const server = await startTestServer();
    const alice = await connectWithToken(server, 'alice', { peerMetadata: { name: 'Alice' } });
    const bob = await connectWithToken(server, 'bob');
    await alice.request({ type: 'subscribe', channel: 'room' });
    await bob.request({ type: 'subscribe', channel: 'room' });
    const carol = await connectWithToken(server, 'carol');
    const ack = await carol.request({ type: 'subscribe', channel: 'room' });
    expect(ack.type).toBe('ack');
    const snapshot = await carol.waitFor((frame) => frame.type === 'presence');
    expect(carol.frames.indexOf(ack)).toBeLessThan(carol.frames.indexOf(snapshot));
    expect(snapshot.left).toEqual([]);
    expect(snapshot.joined).toEqual(
      expect.arrayContaining([{ peerId: 'alice', metadata: { name: 'Alice' } }, { peerId: 'bob' }]),
    );
    expect(snapshot.joined).toHaveLength(2);
    for (const member of [alice, bob]) {
      expect(
        await member.waitFor(
          (frame) => frame.type === 'presence' && frame.joined[0]?.peerId === 'carol',
        ),
      ).toEqual({ type: 'presence', channel: 'room', joined: [{ peerId: 'carol' }], left: [] });
    }
  });

  it('sends a fresh snapshot on a repeat subscribe, without announcing the member again', async () => {
    const server = await startTestServer();
    const alice = await connectWithToken(server, 'alice');
    const bob = await connectWithToken(server, 'bob');
    await alice.request({ type: 'subscribe', channel: 'room' });
    await bob.request({ type: 'subscribe', channel: 'room' });
    await alice.sync();
    const before = alice.ofType('presence').length;
    await bob.request({ type: 'subscribe', channel: 'room' });
    await bob.sync();
    const snapshots = bob.ofType('presence');
    expect(snapshots).toHaveLength(2);
    expect(snapshots[1]).toEqual({
      type: 'presence',
      channel: 'room',
      joined: [{ peerId: 'alice' }],
      left: [],
    });
    await alice.sync();
    expect(alice.ofType('presence')).toHaveLength(before);
  });

  it('announces left on unsubscribe and on socket close', async () => {
    const server = await startTestServer();
    const alice = await connectWithToken(server, 'alice');
    const bob = await connectWithToken(server, 'bob');
    const carol = await connectWithToken(server, 'carol');
    for (const client of [alice, bob, carol])
      await client.request({ type: 'subscribe', channel: 'room' });
    expect(await bob.request({ type: 'unsubscribe', channel: 'room' })).toMatchObject({
      type: 'ack',
    });
    expect(
      await alice.waitFor((frame) => frame.type === 'presence' && frame.left.length > 0),
    ).toEqual({ type: 'presence', channel: 'room', joined: [], left: [{ peerId: 'bob' }] });
    await carol.close();
    expect(
      await alice.waitFor(
        (frame) => frame.type === 'presence' && frame.left[0]?.peerId === 'carol',
      ),
    ).toEqual({ type: 'presence', channel: 'room', joined: [], left: [{ peerId: 'carol' }] });
  });

  it('acks an unsubscribe of a channel the connection is not in', async () => {
    const server = await startTestServer();
    const client = await connectWithKey(server);
    expect(await client.request({ type: 'unsubscribe', channel: 'nowhere' })).toMatchObject({
      type: 'ack',
    });
  });

  it('keeps a connection without the presence permission out of rosters', async () => {
    const server = await startTestServer();
    const watcher = await connectWithToken(server, 'watcher', {
      permissions: ['subscribe', 'publish'],
    });
    const alice = await connectWithToken(server, 'alice');
    await watcher.request({ type: 'subscribe', channel: 'room' });
    await alice.request({ type: 'subscribe', channel: 'room' });
    const snapshot = await alice.waitFor((frame) => frame.type === 'presence');
    expect(snapshot.joined).toEqual([]);
    expect(
      await watcher.waitFor((frame) => frame.type === 'presence' && frame.joined.length > 0),
    ).toMatchObject({ joined: [{ peerId: 'alice' }] });
  });
});

describe('duplicate peer ids (presence per peer id)', () => {
  it('shows left for the old socket before joined for the new one when the id reconnects', async () => {
    const server = await startTestServer();
    const watcher = await connectWithToken(server, 'watcher');
    await watcher.request({ type: 'subscribe', channel: 'room' });
    const first = await connectWithToken(server, 'alice', { peerMetadata: { tab: 1 } });
    await first.request({ type: 'subscribe', channel: 'room' });
    await watcher.waitFor((frame) => frame.type === 'presence' && frame.joined.length > 0);
    const second = await connectWithToken(server, 'alice', { peerMetadata: { tab: 2 } });
    await second.request({ type: 'subscribe', channel: 'room' });
    await watcher.sync();
    const deltas = watcher.ofType('presence').slice(2);
    expect(deltas).toEqual([
      {
        type: 'presence',
        channel: 'room',
        joined: [],
        left: [{ peerId: 'alice', metadata: { tab: 1 } }],
      },
      {
        type: 'presence',
        channel: 'room',
        joined: [{ peerId: 'alice', metadata: { tab: 2 } }],
        left: [],
      },
    ]);
    // The peer id stays present while one of its sockets is subscribed.
    await first.close();
    await watcher.sync();
    expect(watcher.ofType('presence')).toHaveLength(4);
    await second.close();
    expect(
      await watcher.waitFor(
        (frame) =>
          frame.type === 'presence' &&
          frame.left.length > 0 &&
          watcher.ofType('presence').length === 5,
      ),
    ).toMatchObject({ left: [{ peerId: 'alice' }] });
  });

  it('delivers directs to every socket of the target peer id', async () => {
    const server = await startTestServer();
    const one = await connectWithToken(server, 'alice');
    const two = await connectWithToken(server, 'alice');
    const bob = await connectWithToken(server, 'bob');
    expect(await bob.request({ type: 'send', to: 'alice', data: 'hi' })).toMatchObject({
      type: 'ack',
    });
    for (const socket of [one, two]) {
      expect(await socket.waitFor((frame) => frame.type === 'direct')).toEqual({
        type: 'direct',
        from: 'bob',
        data: 'hi',
      });
    }
  });
});

describe('publish', () => {
  it('delivers to the other subscribers and never echoes the publisher', async () => {
    const server = await startTestServer({ extensions: PLAIN_V1 });
    const alice = await connectWithToken(server, 'alice');
    const bob = await connectWithToken(server, 'bob');
    await alice.request({ type: 'subscribe', channel: 'room' });
    await bob.request({ type: 'subscribe', channel: 'room' });
    expect(await alice.request({ type: 'publish', channel: 'room', data: null })).toMatchObject({
      type: 'ack',
    });
    expect(await bob.waitFor((frame) => frame.type === 'message')).toEqual({
      type: 'message',
      channel: 'room',
      from: 'alice',
      data: null,
    });
    await alice.sync();
    expect(alice.ofType('message')).toEqual([]);
  });

  it('adds fromMetadata only for receivers that asked for it', async () => {
    const server = await startTestServer({ extensions: PLAIN_V1 });
    const alice = await connectWithToken(server, 'alice', { peerMetadata: { name: 'Alice' } });
    const asked = await connectWithToken(server, 'asked');
    const plain = await connectWithToken(server, 'plain');
    await asked.request({ type: 'subscribe', channel: 'room', includeSenderMetadata: true });
    await plain.request({ type: 'subscribe', channel: 'room' });
    await alice.request({ type: 'publish', channel: 'room', data: { n: 1 } });
    expect(await asked.waitFor((frame) => frame.type === 'message')).toEqual({
      type: 'message',
      channel: 'room',
      from: 'alice',
      data: { n: 1 },
      fromMetadata: { name: 'Alice' },
    });
    expect(await plain.waitFor((frame) => frame.type === 'message')).toEqual({
      type: 'message',
      channel: 'room',
      from: 'alice',
      data: { n: 1 },
    });
  });

  it('lets a non-subscriber publish', async () => {
    const server = await startTestServer();
    const listener = await connectWithKey(server);
    const publisher = await connectWithKey(server);
    await listener.request({ type: 'subscribe', channel: 'news' });
    expect(await publisher.request({ type: 'publish', channel: 'news', data: 'x' })).toMatchObject({
      type: 'ack',
    });
    expect((await listener.waitFor((frame) => frame.type === 'message')).data).toBe('x');
  });

  it('stops delivering after unsubscribe', async () => {
    const server = await startTestServer();
    const alice = await connectWithKey(server);
    const bob = await connectWithKey(server);
    await bob.request({ type: 'subscribe', channel: 'room' });
    await bob.request({ type: 'unsubscribe', channel: 'room' });
    await alice.request({ type: 'publish', channel: 'room', data: 1 });
    await bob.sync();
    expect(bob.ofType('message')).toEqual([]);
  });
});

describe('send / direct', () => {
  it('delivers directs FIFO with the sender metadata', async () => {
    const server = await startTestServer();
    const alice = await connectWithToken(server, 'alice', { peerMetadata: { name: 'Alice' } });
    const bob = await connectWithToken(server, 'bob');
    for (let index = 0; index < 50; index++) {
      alice.sendJson({ type: 'send', to: 'bob', data: index, requestId: `r${index}` });
    }
    await alice.waitFor((frame) => frame.type === 'ack' && frame.requestId === 'r49');
    await bob.sync();
    const directs = bob.ofType('direct');
    expect(directs.map((frame) => frame.data)).toEqual([...Array(50).keys()]);
    expect(directs[0]).toEqual({
      type: 'direct',
      from: 'alice',
      data: 0,
      fromMetadata: { name: 'Alice' },
    });
  });

  it('answers peer_not_found for a peer id that is not online', async () => {
    const server = await startTestServer();
    const alice = await connectWithToken(server, 'alice');
    const reply = await alice.request({ type: 'send', to: 'nobody', data: 1 });
    expect(reply).toMatchObject({ type: 'error', code: 'peer_not_found' });
    expect(typeof reply.message).toBe('string');
  });

  it('answers invalid_peer_id for a send to itself', async () => {
    const server = await startTestServer();
    const alice = await connectWithToken(server, 'alice');
    expect(await alice.request({ type: 'send', to: 'alice', data: 1 })).toMatchObject({
      type: 'error',
      code: 'invalid_peer_id',
    });
  });

  it('does not route across apps', async () => {
    const server = await startTestServer({
      apps: [
        testApp(),
        testApp({
          id: 'app2',
          publishableKeys: [{ key: 'pk_live_other' }],
          secretKeys: [{ id: 'sk_id_other', secret: 'sk_secret_other' }],
        }),
      ],
    });
    const alice = await connectWithToken(server, 'alice');
    const other = connect(server, {
      token: await signTestToken({ sub: 'bob', kid: 'sk_id_other', secret: 'sk_secret_other' }),
    });
    await other.welcome();
    expect(await alice.request({ type: 'send', to: 'bob', data: 1 })).toMatchObject({
      code: 'peer_not_found',
    });
    await other.request({ type: 'subscribe', channel: 'room' });
    await alice.request({ type: 'subscribe', channel: 'room' });
    expect((await alice.waitFor((frame) => frame.type === 'presence')).joined).toEqual([]);
  });

  it('orders joined before any direct from the newcomer, and the snapshot before directs to it', async () => {
    const server = await startTestServer();
    const alice = await connectWithToken(server, 'alice');
    await alice.request({ type: 'subscribe', channel: 'room' });
    const bob = await connectWithToken(server, 'bob');
    bob.sendJson({ type: 'subscribe', channel: 'room', requestId: 's' });
    bob.sendJson({ type: 'send', to: 'alice', data: 'offer', requestId: 'd' });
    const direct = await alice.waitFor((frame) => frame.type === 'direct');
    const joined = alice.frames.findIndex(
      (frame) => frame.type === 'presence' && frame.joined[0]?.peerId === 'bob',
    );
    expect(joined).toBeGreaterThanOrEqual(0);
    expect(joined).toBeLessThan(alice.frames.indexOf(direct));
    expect(await alice.request({ type: 'send', to: 'bob', data: 'answer' })).toMatchObject({
      type: 'ack',
    });
    const answer = await bob.waitFor((frame) => frame.type === 'direct');
    const snapshot = bob.frames.findIndex((frame) => frame.type === 'presence');
    expect(snapshot).toBeLessThan(bob.frames.indexOf(answer));
  });
});

describe('requests', () => {
  it('answers ping with pong', async () => {
    const server = await startTestServer();
    const client = await connectWithKey(server);
    client.sendJson({ type: 'ping' });
    expect(await client.waitFor((frame) => frame.type === 'pong')).toEqual({ type: 'pong' });
  });

  it('sends no ack for a frame without requestId, but an uncorrelated error', async () => {
    const server = await startTestServer();
    const client = await connectWithKey(server);
    client.sendJson({ type: 'subscribe', channel: 'quiet' });
    client.sendJson({ type: 'publish', channel: 'quiet', data: 1 });
    client.sendJson({ type: 'subscribe', channel: '_metered/x' });
    await client.sync();
    expect(client.ofType('ack')).toEqual([]);
    expect(client.ofType('presence')).toHaveLength(1);
    const [error] = client.ofType('error');
    expect(error).toMatchObject({ type: 'error', code: 'channel_reserved' });
    expect(error).not.toHaveProperty('requestId');
  });

  it.each([
    [{ type: 'subscribe', channel: '_metered/x' }, 'channel_reserved'],
    [{ type: 'subscribe', channel: '_SYSTEM/x' }, 'channel_reserved'],
    [{ type: 'subscribe', channel: '' }, 'invalid_channel'],
    [{ type: 'subscribe', channel: 'a'.repeat(257) }, 'invalid_channel'],
    [{ type: 'subscribe', channel: 'bad\u0001name' }, 'invalid_channel'],
    [{ type: 'subscribe' }, 'malformed_message'],
    [{ type: 'publish', channel: 'room' }, 'missing_data'],
    [{ type: 'send', to: 'bob' }, 'missing_data'],
    [{ type: 'send', to: '', data: 1 }, 'invalid_peer_id'],
    [{ type: 'frobnicate' }, 'unknown_type'],
    [{ type: 42 }, 'malformed_message'],
  ])('answers %j with %s and keeps the socket open', async (frame, code) => {
    const server = await startTestServer();
    const client = await connectWithKey(server);
    expect(await client.request(frame)).toMatchObject({ type: 'error', code });
    client.sendJson({ type: 'ping' });
    await client.waitFor((reply) => reply.type === 'pong');
  });

  it('answers exactly once per requestId', async () => {
    const server = await startTestServer();
    const client = await connectWithKey(server);
    const frames = [
      { type: 'subscribe', channel: 'a', requestId: '1' },
      { type: 'publish', channel: 'a', data: 1, requestId: '2' },
      { type: 'unsubscribe', channel: 'a', requestId: '3' },
      { type: 'send', to: 'nobody', data: 1, requestId: '4' },
      { type: 'subscribe', channel: '_internal/a', requestId: '5' },
    ];
    for (const frame of frames) client.sendJson(frame);
    await client.sync();
    const answers = client.frames.filter((frame) => frame.type === 'ack' || frame.type === 'error');
    expect(answers.map((frame) => frame.requestId)).toEqual(['1', '2', '3', '4', '5']);
  });
});
