import { Message, Resubscribed, type SignallingClient } from '@metered/signalling';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cleanUp, client, mintToken, next, start } from './harness.js';

afterEach(cleanUp);

// The protocol extensions through our client against the real server: advertised (the
// default), and switched off in the server's config, where the same calls keep working without
// the extra guarantee.

/** A `webSocketFactory` on `ws` that keeps the sockets, so a test can cut a link (1006). */
function cuttableSockets() {
  const sockets: WebSocket[] = [];
  const factory = (url: string) => {
    const socket = new WebSocket(url);
    sockets.push(socket);
    return socket;
  };
  return { factory, cut: () => sockets.at(-1)?.terminate() };
}

/** The `data` of every message a client receives on `channel`, in arrival order. */
function collect(subscriber: SignallingClient, channel: string): unknown[] {
  const received: unknown[] = [];
  subscriber.on(Message, (event) => {
    if (event.channel === channel) received.push(event.data);
  });
  return received;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('extensions advertised', () => {
  it('recovers what was published while the link was down, exactly once and in order', async () => {
    const server = await start();
    const link = cuttableSockets();
    const alice = client(server, {
      tokenProvider: () => mintToken('alice'),
      webSocketFactory: link.factory,
    });
    const bob = client(server, { tokenProvider: () => mintToken('bob') });
    await Promise.all([alice.connect(), bob.connect()]);
    expect(Object.keys(alice.extensions)).toEqual(
      expect.arrayContaining(['recovery', 'idempotency']),
    );
    const received = collect(alice, 'feed');
    const subscribed = await alice.subscribe('feed', { recover: true });
    expect(subscribed).toMatchObject({ recovered: false, position: { offset: 0 } });
    await bob.publish('feed', 1);
    await bob.publish('feed', 2);
    await until(() => received.length === 2);

    const resubscribed = next(alice, Resubscribed);
    link.cut();
    await bob.publish('feed', 3);
    await bob.publish('feed', 4);
    expect({ ...(await resubscribed) }).toEqual({ channel: 'feed', recovered: true });
    await bob.publish('feed', 5);
    await until(() => received.includes(5));
    expect(received).toEqual([1, 2, 3, 4, 5]);
    expect(alice.position('feed')?.offset).toBe(5);

    // A later subscriber (or the same app after a restart) starts from a stored position.
    const carol = client(server, { tokenProvider: () => mintToken('carol') });
    await carol.connect();
    const carolReceived = collect(carol, 'feed');
    const since = { offset: 3, epoch: alice.position('feed')!.epoch };
    expect(await carol.subscribe('feed', { since })).toEqual({ recovered: true, position: since });
    await until(() => carolReceived.length === 2);
    expect(carolReceived).toEqual([4, 5]);
  });

  it('applies a publish retried with the same idempotency key once', async () => {
    const server = await start();
    const alice = client(server, { tokenProvider: () => mintToken('alice') });
    const bob = client(server, { tokenProvider: () => mintToken('bob') });
    await Promise.all([alice.connect(), bob.connect()]);
    const received = collect(alice, 'orders');
    await alice.subscribe('orders');
    const key = { idempotencyKey: 'order-17' };
    expect(await bob.publish('orders', 'first', key)).toEqual({ duplicate: false });
    expect(await bob.publish('orders', 'retry', key)).toEqual({ duplicate: true });
    await bob.publish('orders', 'after');
    await until(() => received.includes('after'));
    expect(received).toEqual(['first', 'after']);
  });
});

describe('extensions switched off on the server', () => {
  it('subscribes, publishes and resubscribes as plain protocol v1', async () => {
    const server = await start({ extensions: { recovery: false, idempotency: false } });
    const link = cuttableSockets();
    const alice = client(server, {
      tokenProvider: () => mintToken('alice'),
      webSocketFactory: link.factory,
    });
    const bob = client(server, { tokenProvider: () => mintToken('bob') });
    await Promise.all([alice.connect(), bob.connect()]);
    expect(alice.extensions).not.toHaveProperty('recovery');
    expect(alice.extensions).not.toHaveProperty('idempotency');
    const received = collect(alice, 'feed');
    expect(await alice.subscribe('feed', { recover: true })).toEqual({
      recovered: false,
      position: null,
    });
    const key = { idempotencyKey: 'k' };
    expect(await bob.publish('feed', 1, key)).toEqual({ duplicate: false });
    expect(await bob.publish('feed', 2, key)).toEqual({ duplicate: false });
    await until(() => received.length === 2);
    expect(alice.position('feed')).toBeUndefined();

    const resubscribed = next(alice, Resubscribed);
    link.cut();
    expect({ ...(await resubscribed) }).toEqual({ channel: 'feed', recovered: false });
    await bob.publish('feed', 3);
    await until(() => received.includes(3));
    expect(received).toEqual([1, 2, 3]);
  });
});
