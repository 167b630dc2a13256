import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer, StartServerOptions } from '../src/index.js';
import { startTwoNodes, type BrokerKind } from './extension-nodes.js';
import {
  PLAIN_V1,
  PUBLISHABLE_KEY,
  connect,
  rest,
  signTestToken,
  testApp,
  type Frame,
  type TestClient,
} from './helpers.js';
import { eventually, startRedis, type RedisProcess } from './redis-server.js';

// Extension `resume`: a session that drops abnormally is held for the window and taken back by
// a connect with its credential, on any node; members see neither `left` nor `joined`.

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const OTHER_APP = testApp({
  id: 'app2',
  publishableKeys: [
    {
      key: 'pk_live_other',
      channelPatterns: ['**'],
      actions: ['subscribe', 'publish', 'presence', 'send'],
      allowedOrigins: [],
    },
  ],
  secretKeys: [],
});

function presenceChanges(client: TestClient, channel: string): string[] {
  return client.frames
    .filter((frame) => frame.type === 'presence' && frame.channel === channel)
    .slice(1) // the snapshot
    .flatMap((frame: Frame) => [
      ...frame.left.map((member: { peerId: string }) => `-${member.peerId}`),
      ...frame.joined.map((member: { peerId: string }) => `+${member.peerId}`),
    ]);
}

async function keyClient(
  server: RunningServer,
  query: Record<string, string> = {},
): Promise<{ client: TestClient; welcome: Frame }> {
  const client = connect(server, { key: PUBLISHABLE_KEY, ...query });
  return { client, welcome: await client.welcome() };
}

async function heldSessions(server: RunningServer): Promise<number> {
  const { values } = await server.metrics.sessionsTotal.get();
  return values.find((value) => value.labels.outcome === 'held')?.value ?? 0;
}

/** Drops a client's socket abnormally and awaits its session being held by `server`. */
async function drop(server: RunningServer, client: TestClient): Promise<void> {
  const before = await heldSessions(server);
  client.terminate();
  await eventually(async () => (await heldSessions(server)) > before, 'the session to be held');
}

/** Asks for a resume credential. */
async function negotiate(client: TestClient): Promise<string> {
  const ack = await client.request({ type: 'session' });
  expect(ack).toMatchObject({ type: 'ack', windowMs: expect.any(Number) });
  expect(ack.resumeToken).toMatch(/^[A-Za-z0-9_-]{40,}$/);
  return ack.resumeToken as string;
}

describe.each<BrokerKind>(['memory', 'redis'])('session resume on the %s broker', (kind) => {
  const nodes = (options: StartServerOptions = {}) =>
    startTwoNodes(kind, () => redis, { apps: [testApp(), OTHER_APP], ...options });

  it('gives a publishable-key client that blips its peer id, memberships and directs back; members on every node see no left or joined', async () => {
    const [a, b] = await nodes();
    const { client, welcome } = await keyClient(a);
    expect(welcome.extensions).toMatchObject({ resume: { windowMs: 15_000 } });
    const onA = (await keyClient(a)).client;
    const onB = (await keyClient(b)).client;
    for (const observer of [onA, onB])
      await observer.request({ type: 'subscribe', channel: 'room' });
    await client.request({ type: 'subscribe', channel: 'room' });
    for (const observer of [onA, onB]) {
      await observer.waitFor(
        (frame) => frame.type === 'presence' && frame.joined[0]?.peerId === welcome.peerId,
      );
    }
    const resumeToken = await negotiate(client);
    await drop(a, client);
    // A direct to the held session is kept for it: the sender's ack means it is buffered.
    await expect(
      onB.request({ type: 'send', to: welcome.peerId, data: 'while away' }),
    ).resolves.toMatchObject({ type: 'ack' });

    const { client: back, welcome: again } = await keyClient(b, { resume: resumeToken });
    expect(again.peerId).toBe(welcome.peerId);
    expect(again.extensions).toMatchObject({ resume: { windowMs: 15_000, resumed: true } });
    expect(back.frames[1]).toMatchObject({
      type: 'direct',
      from: onB.frames[0]?.peerId,
      data: 'while away',
    });
    const ack = await back.request({ type: 'subscribe', channel: 'room' });
    expect(ack.type).toBe('ack');
    const snapshot = await back.waitFor((frame) => frame.type === 'presence');
    expect(snapshot.joined.map((member: { peerId: string }) => member.peerId).sort()).toEqual(
      [onA.frames[0]?.peerId, onB.frames[0]?.peerId].sort(),
    );
    await onA.request({ type: 'publish', channel: 'room', data: 'after' });
    await back.waitFor((frame) => frame.type === 'message' && frame.data === 'after');
    for (const observer of [onA, onB]) {
      await observer.sync();
      expect(
        presenceChanges(observer, 'room').filter((change) => change.endsWith(welcome.peerId)),
      ).toEqual([`+${welcome.peerId}`]);
    }
    // The held session's connection slot was given back: three sockets, three slots.
    const usage = await rest(a, 'GET', '/v1/usage');
    expect(usage.body.concurrentNow).toBe(3);
    // The credential worked once; a new one is asked for with `session` again.
    const replay = (await keyClient(a, { resume: resumeToken })).welcome;
    expect(replay.peerId).not.toBe(welcome.peerId);
    expect(replay.extensions.resume).toEqual({ windowMs: 15_000 });
    await negotiate(back);
  });

  it('ends the hold after the window with one left, and leaves held channels not subscribed again', async () => {
    const [a, b] = await nodes({ resume: { windowMs: 1_000 } });
    const observer = (await keyClient(b)).client;
    await observer.request({ type: 'subscribe', channel: 'room' });
    await observer.request({ type: 'subscribe', channel: 'other' });
    const { client, welcome } = await keyClient(a);
    await client.request({ type: 'subscribe', channel: 'room' });
    await client.request({ type: 'subscribe', channel: 'other' });
    const expired = await negotiate(client);
    client.terminate();
    await observer.waitFor(
      (frame) => frame.type === 'presence' && frame.left[0]?.peerId === welcome.peerId,
    );
    await observer.waitFor(
      (frame) =>
        frame.type === 'presence' &&
        frame.channel === 'other' &&
        frame.left[0]?.peerId === welcome.peerId,
    );
    expect((await keyClient(a, { resume: expired })).welcome.extensions.resume).toEqual({
      windowMs: 1_000,
    });
    // Resumed, then only `room` subscribed again: `other` is left after the grace.
    const { client: second, welcome: secondWelcome } = await keyClient(a);
    await second.request({ type: 'subscribe', channel: 'room' });
    await second.request({ type: 'subscribe', channel: 'other' });
    const token = await negotiate(second);
    await drop(a, second);
    const { client: back } = await keyClient(b, { resume: token });
    await back.request({ type: 'subscribe', channel: 'room' });
    await observer.waitFor(
      (frame) =>
        frame.type === 'presence' &&
        frame.channel === 'other' &&
        frame.left[0]?.peerId === secondWelcome.peerId,
    );
    await observer.sync();
    expect(presenceChanges(observer, 'room')).toEqual([
      `+${welcome.peerId}`,
      `-${welcome.peerId}`,
      `+${secondWelcome.peerId}`,
    ]);
    expect(presenceChanges(observer, 'other')).toEqual([
      `+${welcome.peerId}`,
      `-${welcome.peerId}`,
      `+${secondWelcome.peerId}`,
      `-${secondWelcome.peerId}`,
    ]);
  }, 30_000);

  it('takes over a session whose old socket the server still thinks open, and closes that one with 1001', async () => {
    const [a, b] = await nodes();
    const observer = (await keyClient(b)).client;
    await observer.request({ type: 'subscribe', channel: 'room' });
    const { client, welcome } = await keyClient(a);
    await client.request({ type: 'subscribe', channel: 'room' });
    const token = await negotiate(client);
    // The old socket stays open (a dead TCP connection is found by the heartbeat only).
    const { client: back, welcome: again } = await keyClient(b, { resume: token });
    expect(again.peerId).toBe(welcome.peerId);
    expect(again.extensions.resume).toEqual({ windowMs: 15_000, resumed: true });
    expect((await client.closed).code).toBe(1001);
    await back.request({ type: 'subscribe', channel: 'room' });
    await observer.request({ type: 'publish', channel: 'room', data: 'to the new socket' });
    await back.waitFor((frame) => frame.type === 'message' && frame.data === 'to the new socket');
    await observer.sync();
    expect(presenceChanges(observer, 'room')).toEqual([`+${welcome.peerId}`]);
    const usage = await rest(a, 'GET', '/v1/usage');
    expect(usage.body.concurrentNow).toBe(2);
  });

  it('sends no left from the holding node once the session was resumed elsewhere', async () => {
    const windowMs = 1_000;
    const [a, b] = await nodes({ resume: { windowMs } });
    const observer = (await keyClient(a)).client;
    await observer.request({ type: 'subscribe', channel: 'room' });
    const { client, welcome } = await keyClient(a);
    await client.request({ type: 'subscribe', channel: 'room' });
    const token = await negotiate(client);
    await drop(a, client);
    const { client: back } = await keyClient(b, { resume: token });
    await back.request({ type: 'subscribe', channel: 'room' });
    // The absence of a frame cannot be awaited: wait past the window the old node held it for.
    await delay(windowMs + 500);
    await observer.sync();
    expect(presenceChanges(observer, 'room')).toEqual([`+${welcome.peerId}`]);
    back.socket.close(1000);
    await observer.waitFor(
      (frame) => frame.type === 'presence' && frame.left[0]?.peerId === welcome.peerId,
    );
  });

  it("starts fresh with a forged, replayed, another app's or another peer's credential", async () => {
    const [a, b] = await nodes();
    const observer = (await keyClient(b)).client;
    await observer.request({ type: 'subscribe', channel: 'room' });
    const alice = connect(a, { token: await signTestToken({ sub: 'alice' }) });
    await alice.welcome();
    await alice.request({ type: 'subscribe', channel: 'room' });
    const token = await negotiate(alice);
    await drop(a, alice);
    const attempts: Record<string, string>[] = [
      { key: PUBLISHABLE_KEY, resume: 'forged-credential-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      { key: PUBLISHABLE_KEY, resume: token },
      { key: 'pk_live_other', resume: token },
      { token: await signTestToken({ sub: 'mallory' }), resume: token },
    ];
    for (const query of attempts) {
      const client = connect(b, query);
      const welcome = await client.welcome();
      expect(welcome.peerId).not.toBe('alice');
      expect(welcome.extensions.resume).toEqual({ windowMs: 15_000 });
      client.terminate();
    }
    // None of them used the credential up: alice's own token takes the session back.
    const back = connect(b, { token: await signTestToken({ sub: 'alice' }), resume: token });
    expect((await back.welcome()).extensions.resume).toEqual({ windowMs: 15_000, resumed: true });
    const replayed = connect(a, { token: await signTestToken({ sub: 'alice' }), resume: token });
    expect((await replayed.welcome()).extensions.resume).toEqual({ windowMs: 15_000 });
    await observer.sync();
    // The replayed connect is a second socket of alice: the roster replaces her entry.
    expect(presenceChanges(observer, 'room').slice(0, 1)).toEqual(['+alice']);
  });

  it("lets a clean close (1000) leave at once, and keeps today's presence for connections that never sent session", async () => {
    const [a, b] = await nodes();
    const observer = (await keyClient(b)).client;
    await observer.request({ type: 'subscribe', channel: 'room' });
    const { client: clean, welcome: cleanWelcome } = await keyClient(a);
    await clean.request({ type: 'subscribe', channel: 'room' });
    await negotiate(clean);
    clean.socket.close(1000);
    await observer.waitFor(
      (frame) => frame.type === 'presence' && frame.left[0]?.peerId === cleanWelcome.peerId,
    );
    const { client: plain, welcome: plainWelcome } = await keyClient(a);
    await plain.request({ type: 'subscribe', channel: 'room' });
    plain.terminate();
    await observer.waitFor(
      (frame) => frame.type === 'presence' && frame.left[0]?.peerId === plainWelcome.peerId,
    );
    expect(
      await observer.request({ type: 'send', to: plainWelcome.peerId, data: 1 }),
    ).toMatchObject({ code: 'peer_not_found' });
  });

  it('keeps at most maxHeldDirects directs; past them senders get peer_not_found', async () => {
    const [a, b] = await nodes({ resume: { maxHeldDirects: 2 } });
    const sender = (await keyClient(b)).client;
    const { client, welcome } = await keyClient(a);
    const token = await negotiate(client);
    await drop(a, client);
    const replies: string[] = [];
    for (let index = 0; index < 4; index++) {
      const reply = await sender.request({ type: 'send', to: welcome.peerId, data: index });
      replies.push(reply.type === 'ack' ? 'ack' : reply.code);
    }
    expect(replies).toEqual(['ack', 'ack', 'peer_not_found', 'peer_not_found']);
    const { client: back } = await keyClient(b, { resume: token });
    await back.sync();
    expect(back.ofType('direct').map((frame) => frame.data)).toEqual([0, 1]);
  });
});

describe('session resume through a graceful shutdown on Redis', () => {
  it('holds the sessions a draining node closes with 1001; another node resumes them without left or joined', async () => {
    const [a, b] = await startTwoNodes('redis', () => redis, {
      shutdownRetryAfterMs: 0,
      resume: { windowMs: 5_000 },
    });
    const observer = (await keyClient(b)).client;
    await observer.request({ type: 'subscribe', channel: 'room' });
    const { client, welcome } = await keyClient(a);
    await client.request({ type: 'subscribe', channel: 'room' });
    const token = await negotiate(client);
    await a.close();
    expect((await client.closed).code).toBe(1001);
    const { client: back, welcome: again } = await keyClient(b, { resume: token });
    expect(again.peerId).toBe(welcome.peerId);
    expect(again.extensions.resume).toEqual({ windowMs: 5_000, resumed: true });
    await back.request({ type: 'subscribe', channel: 'room' });
    await observer.sync();
    expect(presenceChanges(observer, 'room')).toEqual([`+${welcome.peerId}`]);
  });

  it("lets the other nodes remove a drained node's sessions nobody resumed once their window ends", async () => {
    const [a, b] = await startTwoNodes('redis', () => redis, {
      shutdownRetryAfterMs: 0,
      resume: { windowMs: 1_000 },
    });
    const observer = (await keyClient(b)).client;
    await observer.request({ type: 'subscribe', channel: 'room' });
    const { client, welcome } = await keyClient(a);
    await client.request({ type: 'subscribe', channel: 'room' });
    await negotiate(client);
    await a.close();
    // Removed by the sweep of node b, every half lease (5 s here) after the window.
    await observer.waitFor(
      (frame) => frame.type === 'presence' && frame.left[0]?.peerId === welcome.peerId,
    );
    await observer.sync();
    expect(presenceChanges(observer, 'room')).toEqual([`+${welcome.peerId}`, `-${welcome.peerId}`]);
  }, 30_000);
});

describe('session resume switched off', () => {
  it('holds nothing: a drop leaves at once and a resume credential is ignored', async () => {
    const [server] = await startTwoNodes('memory', () => redis, {
      extensions: { ...PLAIN_V1, refresh: true },
    });
    const observer = (await keyClient(server)).client;
    await observer.request({ type: 'subscribe', channel: 'room' });
    const { client, welcome } = await keyClient(server);
    expect(welcome.extensions).toEqual({ refresh: {} });
    expect(await client.request({ type: 'session' })).toMatchObject({ code: 'unknown_type' });
    await client.request({ type: 'subscribe', channel: 'room' });
    client.terminate();
    await observer.waitFor(
      (frame) => frame.type === 'presence' && frame.left[0]?.peerId === welcome.peerId,
    );
    const again = await keyClient(server, { resume: 'anything' });
    expect(again.welcome.extensions).toEqual({ refresh: {} });
  });
});
