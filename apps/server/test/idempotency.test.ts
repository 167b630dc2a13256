import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/index.js';
import { startTwoNodes, type BrokerKind } from './extension-nodes.js';
import { connectWithToken, rest, testApp } from './helpers.js';
import { startRedis, type RedisProcess } from './redis-server.js';

// Extension `idempotency`: a publish or send retried with the same key is applied once, answered
// `duplicate: true`, and counted once against the quota.

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

function startNodes(kind: BrokerKind): Promise<[RunningServer, RunningServer]> {
  return startTwoNodes(kind, () => redis, {
    apps: [testApp({ plan: { maxMessagesPerPeriod: 100 } })],
  });
}

describe.each<BrokerKind>(['memory', 'redis'])('idempotency on the %s broker', (kind) => {
  it('applies a publish once per key of a sender, and counts it once', async () => {
    const [a, b] = await startNodes(kind);
    const reader = await connectWithToken(a, 'reader');
    await reader.request({ type: 'subscribe', channel: 'orders' });
    const alice = await connectWithToken(a, 'alice');
    const first = await alice.request({
      type: 'publish',
      channel: 'orders',
      data: 1,
      idempotencyKey: 'o-1',
    });
    expect(Object.keys(first)).toEqual(['type', 'requestId']);
    // The retry may come over another connection (after a reconnect), on another node.
    const aliceAgain = await connectWithToken(b, 'alice');
    const retry = await aliceAgain.request({
      type: 'publish',
      channel: 'orders',
      data: 1,
      idempotencyKey: 'o-1',
    });
    expect(retry).toEqual({ type: 'ack', requestId: retry.requestId, duplicate: true });
    // Another sender's same key is its own.
    const bob = await connectWithToken(b, 'bob');
    expect(
      (await bob.request({ type: 'publish', channel: 'orders', data: 2, idempotencyKey: 'o-1' }))
        .duplicate,
    ).toBeUndefined();
    await alice.request({ type: 'publish', channel: 'orders', data: 3 });
    await reader.waitFor((frame) => frame.type === 'message' && frame.data === 3);
    expect(reader.ofType('message').map((frame) => frame.data)).toEqual([1, 2, 3]);
    const usage = await rest(a, 'GET', '/v1/usage');
    expect(usage.body.messagesUsed).toBe(3);
  });

  it('applies a send once per key, and keeps the key unused while the peer is offline', async () => {
    const [a, b] = await startNodes(kind);
    const alice = await connectWithToken(a, 'alice');
    const offline = await alice.request({
      type: 'send',
      to: 'bob',
      data: 'x',
      idempotencyKey: 's-1',
    });
    expect(offline.code).toBe('peer_not_found');
    const bob = await connectWithToken(b, 'bob');
    const sent = await alice.request({ type: 'send', to: 'bob', data: 'x', idempotencyKey: 's-1' });
    expect(sent.duplicate).toBeUndefined();
    const again = await alice.request({
      type: 'send',
      to: 'bob',
      data: 'x',
      idempotencyKey: 's-1',
    });
    expect(again.duplicate).toBe(true);
    await alice.request({ type: 'send', to: 'bob', data: 'y' });
    await bob.waitFor((frame) => frame.type === 'direct' && frame.data === 'y');
    expect(bob.ofType('direct').map((frame) => frame.data)).toEqual(['x', 'y']);
  });

  it('takes an Idempotency-Key on REST publish', async () => {
    const [a] = await startNodes(kind);
    const reader = await connectWithToken(a, 'reader');
    await reader.request({ type: 'subscribe', channel: 'feed' });
    const send = (data: number) =>
      fetch(`${a.url.replace(/^ws/, 'http')}/v1/channels/feed/publish`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer sk_id_test:sk_secret_test',
          'content-type': 'application/json',
          'idempotency-key': 'rest-1',
        },
        body: JSON.stringify({ data }),
      }).then((response) => response.json() as Promise<Record<string, unknown>>);
    expect(await send(1)).toEqual({ channel: 'feed', delivered: 1 });
    expect(await send(1)).toEqual({ channel: 'feed', delivered: 0, duplicate: true });
    await rest(a, 'POST', '/v1/channels/feed/publish', { body: { data: 2 } });
    await reader.waitFor((frame) => frame.type === 'message' && frame.data === 2);
    expect(reader.ofType('message').map((frame) => frame.data)).toEqual([1, 2]);
  });
});
