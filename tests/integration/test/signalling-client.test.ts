import {
  Connected,
  Direct,
  Disconnected,
  GoingAway,
  Message,
  Presence,
  ServerRequestError,
  SignallingConnectError,
  TokenProviderError,
} from '@metered/signalling';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, client, mintToken, next, SECRET_KEY, start, untrack } from './harness.js';

afterEach(cleanUp);

describe('SignallingClient against @metered/server', () => {
  it('connects with a publishable key and with a token', async () => {
    const server = await start();
    const byKey = client(server);
    const keyConnected = next(byKey, Connected);
    await byKey.connect();
    expect(await keyConnected).toMatchObject({
      expiresAt: null,
      isReconnect: false,
      maxMessageSize: 65_536,
    });

    const byToken = client(server, { tokenProvider: () => mintToken('alice') });
    const tokenConnected = next(byToken, Connected);
    await byToken.connect();
    const event = await tokenConnected;
    expect(event.peerId).toBe('alice');
    expect(event.expiresAt).toBeGreaterThan(Date.now() / 1000);
  });

  it('subscribes with a presence snapshot, sees joins and leaves', async () => {
    const server = await start();
    const alice = client(server, { tokenProvider: () => mintToken('alice') });
    const bob = client(server, { tokenProvider: () => mintToken('bob') });
    await alice.connect();
    await bob.connect();
    const aliceSnapshot = next(alice, Presence);
    await alice.subscribe('room');
    expect(await aliceSnapshot).toMatchObject({ channel: 'room', joined: [], left: [] });

    const aliceSeesBob = next(alice, Presence, (event) => event.joined.length > 0);
    await bob.subscribe('room');
    // Registered after subscribe() resolved: the snapshot that followed the ack still arrives.
    const bobSnapshot = await next(bob, Presence);
    expect(bobSnapshot.joined.map((peer) => peer.peerId)).toEqual(['alice']);
    expect((await aliceSeesBob).joined.map((peer) => peer.peerId)).toEqual(['bob']);

    const aliceSeesBobLeave = next(alice, Presence, (event) => event.left.length > 0);
    await bob.unsubscribe('room');
    expect((await aliceSeesBobLeave).left.map((peer) => peer.peerId)).toEqual(['bob']);
  });

  it('publishes to other subscribers, never back to the publisher', async () => {
    const server = await start();
    const alice = client(server, { tokenProvider: () => mintToken('alice') });
    const bob = client(server, { tokenProvider: () => mintToken('bob') });
    await alice.connect();
    await bob.connect();
    await alice.subscribe('room');
    await bob.subscribe('room');
    const echoes: Message[] = [];
    bob.on(Message, (event) => echoes.push(event));
    const received = next(alice, Message);
    await bob.publish('room', { n: 1, text: 'hi' });
    expect({ ...(await received) }).toEqual({
      channel: 'room',
      senderPeerId: 'bob',
      data: { n: 1, text: 'hi' },
      senderMetadata: null,
      // The channel's place in its history (the server's `recovery` extension, on by default).
      offset: 1,
      epoch: expect.any(String),
    });
    const bobReceives = next(bob, Message);
    await alice.publish('room', 'back');
    await bobReceives;
    expect(echoes.map((event) => event.senderPeerId)).toEqual(['alice']);
  });

  it('sends direct messages in order and rejects an unknown target', async () => {
    const server = await start();
    const alice = client(server, { tokenProvider: () => mintToken('alice') });
    const bob = client(server, { tokenProvider: () => mintToken('bob') });
    await alice.connect();
    await bob.connect();
    const received: unknown[] = [];
    const all = new Promise<void>((resolve) => {
      bob.on(Direct, (event) => {
        if (received.push(`${event.senderPeerId}:${String(event.data)}`) === 20) resolve();
      });
    });
    await Promise.all(Array.from({ length: 20 }, (_, index) => alice.send('bob', index)));
    await all;
    expect(received).toEqual(Array.from({ length: 20 }, (_, index) => `alice:${index}`));
    await expect(alice.send('nobody', 1)).rejects.toMatchObject({ code: 'peer_not_found' });
    await expect(alice.send('nobody', 1)).rejects.toBeInstanceOf(ServerRequestError);
  });

  it('reconnects after a server restart and resubscribes its channels', async () => {
    const first = await start({ shutdownRetryAfterMs: 100 });
    const alice = client(first, { tokenProvider: () => mintToken('alice') });
    await alice.connect();
    await alice.subscribe('room', { includeSenderMetadata: true });
    const goingAway = next(alice, GoingAway);
    const dropped = next(alice, Disconnected);
    untrack(first);
    await first.close();
    expect((await goingAway).retryAfterMs).toBe(100);
    expect(await dropped).toMatchObject({ code: 1001, willReconnect: true });

    const reconnected = next(alice, Connected, (event) => event.isReconnect);
    const roster = next(alice, Presence);
    const second = await start({ port: first.port });
    expect((await reconnected).peerId).toBe('alice');
    await roster;
    expect(alice.state).toBe('connected');

    const bob = client(second, { tokenProvider: () => mintToken('bob') });
    await bob.connect();
    const received = next(alice, Message);
    await bob.publish('room', 'after restart');
    expect((await received).data).toBe('after restart');
  });

  it('reads a going_away retryAfterMs of 0 from a server shutting down as 1000', async () => {
    const server = await start({ shutdownRetryAfterMs: 0 });
    const alice = client(server, { reconnect: false });
    await alice.connect();
    const goingAway = next(alice, GoingAway);
    const dropped = next(alice, Disconnected);
    untrack(server);
    await server.close();
    expect((await goingAway).retryAfterMs).toBe(1000);
    expect(await dropped).toMatchObject({ code: 1001, willReconnect: false });
  });

  it('ends closed once the token provider is stuck failing (3 in a row), with its error as cause', async () => {
    const first = await start();
    let failing = false;
    const expired = new Error('login expired');
    let calls = 0;
    const alice = client(first, {
      tokenProvider: () => {
        calls += 1;
        return failing ? Promise.reject(expired) : mintToken('alice');
      },
    });
    await alice.connect();
    failing = true;
    const third = next(alice, TokenProviderError, (event) => event.consecutiveFailures === 3);
    const final = next(alice, Disconnected, (event) => !event.willReconnect);
    untrack(first);
    await first.close();
    const waiting = alice.connect().catch((caught: unknown) => caught);
    expect((await third).err).toBe(expired);
    expect(alice.state).toBe('closed');
    expect(await final).toMatchObject({ code: 1006, reason: 'token provider stuck' });
    const error = await waiting;
    expect(error).toBeInstanceOf(SignallingConnectError);
    expect((error as Error).cause).toBe(expired);
    expect(calls).toBe(4);
  });

  it('ends closed, without reconnecting, when kicked through the REST API (4020)', async () => {
    const server = await start();
    const alice = client(server, { tokenProvider: () => mintToken('kick-me') });
    await alice.connect();
    const disconnected = next(alice, Disconnected);
    const response = await fetch(`${server.url.replace('ws', 'http')}/v1/peers/kick-me`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${SECRET_KEY.id}:${SECRET_KEY.secret}` },
    });
    expect(response.status).toBe(200);
    expect({ ...(await disconnected) }).toMatchObject({ code: 4020, willReconnect: false });
    expect(alice.state).toBe('closed');
  });

  it('rejects connect() with SignallingConnectError for a bad token (4001)', async () => {
    const server = await start();
    const mallory = client(server, { tokenProvider: () => 'not-a-jwt' });
    await expect(mallory.connect()).rejects.toMatchObject({
      name: 'SignallingConnectError',
      closeCode: 4001,
    });
    expect(mallory.state).toBe('closed');
  });
});
