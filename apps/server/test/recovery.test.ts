import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer, StartServerOptions } from '../src/index.js';
import {
  PLAIN_V1,
  connectWithKey,
  connectWithToken,
  rest,
  startTestServer,
  testApp,
  type Frame,
  type TestClient,
} from './helpers.js';
import { startTwoNodes, type BrokerKind } from './extension-nodes.js';
import { startRedis, type RedisProcess } from './redis-server.js';

// Extension `recovery` on both brokers: offsets and epochs on every message, the position in the
// subscribe ack, and the replay of what a subscriber missed (exactly once, in order, never partial).

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** Two nodes: one server twice on memory, two servers sharing one Redis otherwise. */
function startNodes(
  kind: BrokerKind,
  options: StartServerOptions = {},
): Promise<[RunningServer, RunningServer]> {
  return startTwoNodes(kind, () => redis, options);
}

function messagesOf(client: TestClient, channel: string): Frame[] {
  return client.frames.filter((frame) => frame.type === 'message' && frame.channel === channel);
}

async function publishAll(client: TestClient, channel: string, values: readonly unknown[]) {
  for (const data of values) {
    const reply = await client.request({ type: 'publish', channel, data });
    expect(reply.type).toBe('ack');
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

describe.each<BrokerKind>(['memory', 'redis'])('recovery on the %s broker', (kind) => {
  it('advertises recovery and idempotency in welcome', async () => {
    const [a] = await startNodes(kind);
    const client = await connectWithKey(a);
    const welcome = await client.welcome();
    expect(welcome.extensions).toMatchObject({
      recovery: {},
      idempotency: { windowMs: 300_000 },
    });
  });

  it('numbers messages 1, 2, 3… under one epoch, publishers on both nodes at once', async () => {
    const [a, b] = await startNodes(kind);
    const reader = await connectWithKey(a);
    const ack = await reader.request({ type: 'subscribe', channel: 'room' });
    expect(ack.position).toEqual({ offset: 0, epoch: expect.any(String) });
    const left = await connectWithKey(a);
    const right = await connectWithKey(b);
    await Promise.all([
      publishAll(
        left,
        'room',
        range(1, 40).map((n) => `l${n}`),
      ),
      publishAll(
        right,
        'room',
        range(1, 40).map((n) => `r${n}`),
      ),
    ]);
    await reader.waitFor(() => messagesOf(reader, 'room').length === 80);
    const received = messagesOf(reader, 'room');
    expect(received.map((frame) => frame.offset)).toEqual(range(1, 80));
    expect(new Set(received.map((frame) => frame.epoch))).toEqual(new Set([ack.position.epoch]));
    // Each publisher's own order is kept within the one order.
    const lefts = received.filter((frame) => String(frame.data).startsWith('l'));
    expect(lefts.map((frame) => frame.data)).toEqual(range(1, 40).map((n) => `l${n}`));
  });

  it('replays exactly what a subscriber missed, after ack and presence, before live messages', async () => {
    const [a, b] = await startNodes(kind);
    const publisher = await connectWithKey(b);
    const first = await connectWithKey(a);
    await first.request({ type: 'subscribe', channel: 'news' });
    await publishAll(publisher, 'news', [1, 2, 3]);
    await first.waitFor(() => messagesOf(first, 'news').length === 3);
    const last = messagesOf(first, 'news')[2] as Frame;
    first.terminate();
    await publishAll(publisher, 'news', [4, 5, 6, 7]);

    const again = await connectWithKey(a);
    const requestId = 'resub';
    again.sendJson({
      type: 'subscribe',
      channel: 'news',
      requestId,
      since: { offset: last.offset, epoch: last.epoch },
    });
    await again.waitFor((frame) => frame.type === 'ack' && frame.requestId === requestId);
    await publishAll(publisher, 'news', [8]);
    await again.waitFor(() => messagesOf(again, 'news').length === 5);
    const types = again.frames.slice(1).map((frame) => frame.type);
    expect(types).toEqual([
      'ack',
      'presence',
      'message',
      'message',
      'message',
      'message',
      'message',
    ]);
    const ack = again.frames[1] as Frame;
    expect(ack).toEqual({
      type: 'ack',
      requestId,
      position: { offset: 7, epoch: last.epoch },
      recovered: true,
    });
    expect(messagesOf(again, 'news').map((frame) => [frame.offset, frame.data])).toEqual([
      [4, 4],
      [5, 5],
      [6, 6],
      [7, 7],
      [8, 8],
    ]);
  });

  it('answers a since equal to the position with recovered:true and no replay', async () => {
    const [a] = await startNodes(kind);
    const publisher = await connectWithKey(a);
    await publishAll(publisher, 'quiet', ['x']);
    const client = await connectWithKey(a);
    const first = await client.request({ type: 'subscribe', channel: 'quiet' });
    const again = await client.request({
      type: 'subscribe',
      channel: 'quiet',
      since: first.position,
    });
    expect(again.recovered).toBe(true);
    expect(again.position).toEqual(first.position);
    await client.sync();
    expect(messagesOf(client, 'quiet')).toEqual([]);
  });

  it('catches up on a repeat subscribe with since on a channel already subscribed', async () => {
    const [a, b] = await startNodes(kind);
    const publisher = await connectWithKey(b);
    const client = await connectWithKey(a);
    const first = await client.request({ type: 'subscribe', channel: 'c' });
    await publishAll(publisher, 'c', ['a', 'b']);
    await client.waitFor(() => messagesOf(client, 'c').length === 2);
    const again = await client.request({
      type: 'subscribe',
      channel: 'c',
      since: first.position,
    });
    expect(again.recovered).toBe(true);
    await client.waitFor(() => messagesOf(client, 'c').length === 4);
    expect(messagesOf(client, 'c').map((frame) => frame.data)).toEqual(['a', 'b', 'a', 'b']);
  });

  it('answers recovered:false, replaying nothing, for another epoch, a trimmed history and a gap over the replay limit', async () => {
    const [a] = await startNodes(kind, {
      apps: [
        testApp({
          history: { maxReplay: 3, channels: [{ pattern: 'small/*', size: 2 }] },
        }),
      ],
    });
    const publisher = await connectWithKey(a);
    await publishAll(publisher, 'small/x', [1, 2, 3, 4]);
    await publishAll(publisher, 'big', [1, 2, 3, 4, 5]);
    const client = await connectWithKey(a);
    const probe = await client.request({ type: 'subscribe', channel: 'big' });
    const { epoch } = probe.position;

    const otherEpoch = await client.request({
      type: 'subscribe',
      channel: 'big',
      since: { offset: 4, epoch: `${epoch}x` },
    });
    expect(otherEpoch).toMatchObject({ recovered: false, position: { offset: 5, epoch } });
    const overLimit = await client.request({
      type: 'subscribe',
      channel: 'big',
      since: { offset: 1, epoch },
    });
    expect(overLimit.recovered).toBe(false);
    const withinLimit = await client.request({
      type: 'subscribe',
      channel: 'big',
      since: { offset: 2, epoch },
    });
    expect(withinLimit.recovered).toBe(true);

    const small = await client.request({ type: 'subscribe', channel: 'small/x' });
    const trimmed = await client.request({
      type: 'subscribe',
      channel: 'small/x',
      since: { offset: 1, epoch: small.position.epoch },
    });
    expect(trimmed.recovered).toBe(false);
    await client.sync();
    expect(messagesOf(client, 'big').map((frame) => frame.data)).toEqual([3, 4, 5]);
    expect(messagesOf(client, 'small/x')).toEqual([]);
  });

  it('keeps no history where it is turned off: no offsets, since answered recovered:false', async () => {
    const [a] = await startNodes(kind, {
      apps: [testApp({ history: { channels: [{ pattern: 'off/**', size: 0 }] } })],
    });
    const client = await connectWithKey(a);
    const publisher = await connectWithKey(a);
    const ack = await client.request({
      type: 'subscribe',
      channel: 'off/1',
      since: { offset: 0, epoch: 'e' },
    });
    expect(Object.keys(ack)).toEqual(['type', 'requestId', 'recovered']);
    expect(ack.recovered).toBe(false);
    await publishAll(publisher, 'off/1', ['p']);
    const message = await client.waitFor((frame) => frame.type === 'message');
    expect(Object.keys(message)).toEqual(['type', 'channel', 'from', 'data']);
  });

  it('serves GET /v1/channels/:channel/history', async () => {
    const [a, b] = await startNodes(kind);
    const publisher = await connectWithToken(a, 'alice', { peerMetadata: { name: 'A' } });
    await publishAll(publisher, 'log', [1, 2, 3]);
    const all = await rest(b, 'GET', '/v1/channels/log/history');
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ offset: 3, recovered: true });
    expect(all.body.messages).toEqual(
      [1, 2, 3].map((n) => ({
        offset: n,
        from: 'alice',
        data: n,
        fromMetadata: { name: 'A' },
        timestamp: expect.any(Number),
      })),
    );
    const since = await rest(
      b,
      'GET',
      `/v1/channels/log/history?since=1&epoch=${all.body.epoch}&limit=1`,
    );
    expect(since.body).toMatchObject({ recovered: false, messages: [{ offset: 3 }] });
    const bad = await rest(b, 'GET', '/v1/channels/log/history?since=1');
    expect(bad.status).toBe(400);
  });
});

describe('recovery while messages keep coming (Redis, two nodes)', () => {
  it('replays then continues live with nothing lost and nothing twice', async () => {
    const [a, b] = await startNodes('redis');
    const publisher = await connectWithKey(b);
    const first = await connectWithKey(a);
    const ack = await first.request({ type: 'subscribe', channel: 'race' });
    first.terminate();
    await publishAll(publisher, 'race', range(1, 20));
    let publishing = true;
    let next = 21;
    const flood = (async () => {
      while (publishing) {
        await publisher.request({ type: 'publish', channel: 'race', data: next++ });
      }
    })();
    const subscribers = await Promise.all(
      range(1, 5).map(async () => {
        const client = await connectWithKey(a);
        const reply = await client.request({
          type: 'subscribe',
          channel: 'race',
          since: ack.position,
        });
        expect(reply.recovered).toBe(true);
        return client;
      }),
    );
    await publisher.request({ type: 'publish', channel: 'race', data: 'marker' });
    publishing = false;
    await flood;
    await publisher.request({ type: 'publish', channel: 'race', data: 'end' });
    for (const client of subscribers) {
      await client.waitFor((frame) => frame.type === 'message' && frame.data === 'end');
      const offsets = messagesOf(client, 'race').map((frame) => frame.offset);
      expect(offsets).toEqual(range(1, offsets.length));
    }
  });
});

describe('history across the loss of a node', () => {
  it('memory broker: a restarted server starts a new epoch, so recovery answers recovered:false', async () => {
    const first = await startTestServer();
    const publisher = await connectWithKey(first);
    await publishAll(publisher, 'r', [1, 2]);
    const probe = await connectWithKey(first);
    const before = await probe.request({ type: 'subscribe', channel: 'r' });
    await first.close();
    const second = await startTestServer();
    const client = await connectWithKey(second);
    const ack = await client.request({ type: 'subscribe', channel: 'r', since: before.position });
    expect(ack.recovered).toBe(false);
    expect(ack.position.epoch).not.toBe(before.position.epoch);
  });

  it('Redis: a subscriber whose node went away recovers on the other node with nothing lost', async () => {
    const [a, b] = await startNodes('redis');
    const publisher = await connectWithKey(b);
    const client = await connectWithKey(a);
    await client.request({ type: 'subscribe', channel: 'ha' });
    await publishAll(publisher, 'ha', [1, 2]);
    await client.waitFor(() => messagesOf(client, 'ha').length === 2);
    const last = messagesOf(client, 'ha')[1] as Frame;
    await a.close();
    await publishAll(publisher, 'ha', [3, 4, 5]);
    const moved = await connectWithKey(b);
    const ack = await moved.request({
      type: 'subscribe',
      channel: 'ha',
      since: { offset: last.offset, epoch: last.epoch },
    });
    expect(ack.recovered).toBe(true);
    await moved.waitFor(() => messagesOf(moved, 'ha').length === 3);
    expect(messagesOf(moved, 'ha').map((frame) => [frame.offset, frame.data])).toEqual([
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
  });
});

describe('replay paging', () => {
  it('writes a replay larger than the outbound bound in pages to a client that reads slowly', async () => {
    const server = await startTestServer({ maxOutboundBufferBytes: 256 * 1024 });
    const publisher = await connectWithKey(server);
    const client = await connectWithKey(server);
    const ack = await client.request({ type: 'subscribe', channel: 'bulk' });
    client.terminate();
    const blob = 'x'.repeat(60_000);
    for (let n = 1; n <= 150; n++) {
      await publisher.request({ type: 'publish', channel: 'bulk', data: { n, blob } });
    }
    const slow = await connectWithKey(server);
    const transport = (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })
      ._socket;
    transport.pause();
    slow.sendJson({ type: 'subscribe', channel: 'bulk', requestId: 'r', since: ack.position });
    const late = publisher.request({
      type: 'publish',
      channel: 'bulk',
      data: { n: 151, blob: '' },
    });
    await late;
    transport.resume();
    await slow.waitFor((frame) => frame.type === 'message' && frame.data.n === 151);
    expect(messagesOf(slow, 'bulk').map((frame) => frame.data.n)).toEqual(range(1, 151));
    expect(slow.frames.find((frame) => frame.type === 'ack')?.recovered).toBe(true);
  });
});

describe('the client frame cap with offsets', () => {
  it('refuses a publish whose message frame would pass 1 MiB only once it carries offset and epoch', async () => {
    const server = await startTestServer({
      apps: [testApp({ limits: { maxMessageSize: 1_040_384 } })],
    });
    const reader = await connectWithKey(server);
    await reader.request({ type: 'subscribe', channel: 'c' });
    const alice = await connectWithToken(server, 'alice');
    const numbers = Array.from({ length: 40_000 }, () => 1e20);
    const frameOf = (pad: number) =>
      JSON.stringify({
        type: 'message',
        channel: 'c',
        from: 'alice',
        data: [...numbers, 'x'.repeat(pad)],
      });
    const pad = 1_048_576 - 10 - frameOf(0).length;
    expect(frameOf(pad).length).toBe(1_048_566);
    // Written with `1e20`: the relayed frame spells each out in 21 digits.
    const text = `{"type":"publish","channel":"c","requestId":"big","data":[${numbers.map(() => '1e20').join(',')},"${'x'.repeat(pad)}"]}`;
    alice.socket.send(text);
    const reply = await alice.waitFor((frame) => frame.requestId === 'big');
    expect(reply).toMatchObject({ type: 'error', code: 'malformed_message' });
    await reader.sync();
    expect(messagesOf(reader, 'c')).toEqual([]);
  });
});

describe('extensions off', () => {
  it('is plain protocol v1: no extensions in welcome, no offsets, since and idempotencyKey ignored', async () => {
    const server = await startTestServer({ extensions: PLAIN_V1 });
    const client = await connectWithKey(server);
    const publisher = await connectWithKey(server);
    const welcome = await client.welcome();
    expect(Object.keys(welcome)).not.toContain('extensions');
    const ack = await client.request({
      type: 'subscribe',
      channel: 'c',
      since: { offset: 0, epoch: 'e' },
    });
    expect(Object.keys(ack)).toEqual(['type', 'requestId']);
    await publisher.request({ type: 'publish', channel: 'c', data: 1, idempotencyKey: 'k' });
    const second = await publisher.request({
      type: 'publish',
      channel: 'c',
      data: 2,
      idempotencyKey: 'k',
    });
    expect(Object.keys(second)).toEqual(['type', 'requestId']);
    await client.waitFor(() => messagesOf(client, 'c').length === 2);
    expect(messagesOf(client, 'c').map((frame) => Object.keys(frame))).toEqual([
      ['type', 'channel', 'from', 'data'],
      ['type', 'channel', 'from', 'data'],
    ]);
    const history = await rest(server, 'GET', '/v1/channels/c/history');
    expect(history.status).toBe(404);
  });
});
