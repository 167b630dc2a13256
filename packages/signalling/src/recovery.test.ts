import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flush, reconnect, setup } from '../test/harness.js';
import { Message, Resubscribed, SubscriptionEnded } from './index.js';
import type { FakeWebSocket } from './testing/index.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const RECOVERY = { extensions: { recovery: {} } };
/** Acks the last subscribe with `extras`, followed by `frames` in the same burst. */
const ackSubscribe = (
  socket: FakeWebSocket,
  extras: Record<string, unknown>,
  ...frames: Record<string, unknown>[]
): void => {
  socket.deliver(
    { type: 'ack', requestId: socket.lastSent('subscribe')!.requestId, ...extras },
    ...frames,
  );
};

const message = (offset?: number, epoch = 'e1', channel = 'room') => ({
  type: 'message',
  channel,
  from: 'p2',
  data: offset ?? null,
  ...(offset !== undefined && { offset, epoch }),
});

describe('recovery not advertised', () => {
  it('sends no since, resolves recovered false and reports the resubscribe as not recovered', async () => {
    const { client, factory, connect, of } = setup();
    const socket = await connect();
    const subscribing = client.subscribe('room', { since: { offset: 3, epoch: 'e1' } });
    expect(socket.sentFrames).toEqual([
      { type: 'subscribe', channel: 'room', requestId: expect.any(String) },
    ]);
    socket.ackLast();
    expect(await subscribing).toEqual({ recovered: false, position: null });
    expect(client.position('room')).toBeUndefined();
    socket.deliver(message());
    expect(Object.keys(of(Message)[0]!)).toEqual([
      'channel',
      'senderPeerId',
      'data',
      'senderMetadata',
    ]);

    const next = await reconnect(socket, factory);
    expect(next.sentFrames).toEqual([
      { type: 'subscribe', channel: 'room', requestId: expect.any(String) },
    ]);
    next.ackLast('subscribe', { recovered: true });
    await flush();
    expect(of(Resubscribed).map((event) => ({ ...event }))).toEqual([
      { channel: 'room', recovered: false },
    ]);
    expect(client.extensions).toEqual({});
  });

  it('resolves a plain subscribe to undefined, as before', async () => {
    const { client, connect } = setup();
    const socket = await connect(RECOVERY);
    const subscribing = client.subscribe('room');
    socket.ackLast('subscribe', { position: { offset: 4, epoch: 'e1' } });
    expect(await subscribing).toBeUndefined();
    expect(client.position('room')).toBeUndefined();
  });
});

describe('recovery advertised', () => {
  it('holds the position, resubscribes from it and delivers a replay exactly once, in order', async () => {
    const { client, factory, connect, of } = setup();
    const socket = await connect(RECOVERY);
    expect(client.extensions).toEqual({ recovery: {} });
    const subscribing = client.subscribe('room', { recover: true });
    expect(socket.lastSent()).toEqual({
      type: 'subscribe',
      channel: 'room',
      requestId: expect.any(String),
    });
    socket.ackLast('subscribe', { position: { offset: 5, epoch: 'e1' } });
    expect(await subscribing).toEqual({ recovered: false, position: { offset: 5, epoch: 'e1' } });
    socket.deliver(message(6), message(7));
    expect(client.position('room')).toEqual({ offset: 7, epoch: 'e1' });
    expect(of(Message).map(({ offset, epoch }) => ({ offset, epoch }))).toEqual([
      { offset: 6, epoch: 'e1' },
      { offset: 7, epoch: 'e1' },
    ]);

    const next = await reconnect(socket, factory, RECOVERY);
    expect(next.sentFrames).toEqual([
      {
        type: 'subscribe',
        channel: 'room',
        requestId: expect.any(String),
        since: { offset: 7, epoch: 'e1' },
      },
    ]);
    // The server replays 8 and 9 twice, then goes live: each reaches the app once.
    ackSubscribe(
      next,
      { position: { offset: 9, epoch: 'e1' }, recovered: true },
      message(8),
      message(9),
      message(8),
      message(9),
      message(10),
    );
    await flush();
    expect(of(Message).map((event) => event.offset)).toEqual([6, 7, 8, 9, 10]);
    expect(of(Resubscribed).map((event) => ({ ...event }))).toEqual([
      { channel: 'room', recovered: true },
    ]);
    expect(client.position('room')).toEqual({ offset: 10, epoch: 'e1' });
  });

  it('reports a gap it cannot fill and starts again from the new epoch', async () => {
    const { client, factory, connect, of } = setup();
    const socket = await connect(RECOVERY);
    const subscribing = client.subscribe('room', { recover: true });
    socket.ackLast('subscribe', { position: { offset: 5, epoch: 'e1' } });
    await subscribing;
    const next = await reconnect(socket, factory, RECOVERY);
    ackSubscribe(
      next,
      { position: { offset: 0, epoch: 'e2' }, recovered: false },
      message(1, 'e2'),
    );
    await flush();
    expect(of(Resubscribed).map((event) => event.recovered)).toEqual([false]);
    expect(of(Message).map(({ offset, epoch }) => `${epoch}:${offset}`)).toEqual(['e2:1']);
    expect(client.position('room')).toEqual({ offset: 1, epoch: 'e2' });
  });

  it('subscribes from a stored position: recovered, or not but still subscribed', async () => {
    const { client, connect, of } = setup();
    const socket = await connect(RECOVERY);
    const since = { offset: 41, epoch: 'k3x9' };
    const recovering = client.subscribe('room', { since });
    expect(socket.lastSent()).toEqual({
      type: 'subscribe',
      channel: 'room',
      requestId: expect.any(String),
      since,
    });
    ackSubscribe(
      socket,
      { position: { offset: 42, epoch: 'k3x9' }, recovered: true },
      message(41, 'k3x9'),
      message(42, 'k3x9'),
    );
    expect(await recovering).toEqual({ recovered: true, position: since });
    await flush();
    expect(of(Message).map((event) => event.offset)).toEqual([42]);

    const fresh = client.subscribe('other', { since: { offset: 3, epoch: 'old' } });
    socket.ackLast('subscribe', { position: { offset: 8, epoch: 'new' }, recovered: false });
    expect(await fresh).toEqual({ recovered: false, position: { offset: 8, epoch: 'new' } });
    expect(client.position('other')).toEqual({ offset: 8, epoch: 'new' });
  });

  it('holds a copy of the given position: changing the caller object changes nothing', async () => {
    const { client, connect } = setup();
    const socket = await connect(RECOVERY);
    const since = { offset: 7, epoch: 'e1' };
    const subscribing = client.subscribe('room', { since });
    socket.ackLast('subscribe', { position: { offset: 7, epoch: 'e1' }, recovered: true });
    await subscribing;
    since.offset = 0;
    expect(client.position('room')).toEqual({ offset: 7, epoch: 'e1' });
  });

  it('keeps no position for a channel without recovery and reports its resubscribe as not recovered', async () => {
    const { client, factory, connect, of } = setup();
    const socket = await connect(RECOVERY);
    const subscribing = client.subscribe('plain');
    socket.ackLast('subscribe', { position: { offset: 5, epoch: 'e1' } });
    await subscribing;
    socket.deliver(message(6, 'e1', 'plain'), message(6, 'e1', 'plain'));
    expect(of(Message)).toHaveLength(2);
    expect(client.position('plain')).toBeUndefined();
    const next = await reconnect(socket, factory, RECOVERY);
    expect(next.lastSent()).not.toHaveProperty('since');
    next.ackLast('subscribe', { position: { offset: 6, epoch: 'e1' }, recovered: true });
    await flush();
    expect(of(Resubscribed).map((event) => ({ ...event }))).toEqual([
      { channel: 'plain', recovered: false },
    ]);
  });

  it('forgets the position on unsubscribe', async () => {
    const { client, connect } = setup();
    const socket = await connect(RECOVERY);
    const subscribing = client.subscribe('room', { recover: true });
    socket.ackLast('subscribe', { position: { offset: 5, epoch: 'e1' } });
    await subscribing;
    const leaving = client.unsubscribe('room');
    socket.ackLast();
    await leaving;
    expect(client.position('room')).toBeUndefined();
  });
});

describe('unsubscribed', () => {
  it('stops tracking the channel and says so', async () => {
    const { client, factory, connect, of } = setup();
    const socket = await connect();
    const subscribing = client.subscribe('room');
    socket.ackLast();
    await subscribing;
    socket.deliver({ type: 'unsubscribed', channel: 'room', code: 'channel_not_authorized' });
    expect(of(SubscriptionEnded).map((event) => ({ ...event }))).toEqual([
      { channel: 'room', code: 'channel_not_authorized' },
    ]);
    const next = await reconnect(socket, factory);
    expect(next.sent).toEqual([]);
  });
});
