import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setup } from '../test/harness.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('idempotency advertised', () => {
  it('puts the key on publish and send and reports a duplicate', async () => {
    const { client, connect } = setup();
    const socket = await connect({ extensions: { idempotency: { windowMs: 300_000 } } });
    const published = client.publish('room', { n: 1 }, { idempotencyKey: 'order-17' });
    expect(socket.lastSent()).toEqual({
      type: 'publish',
      channel: 'room',
      data: { n: 1 },
      requestId: expect.any(String),
      idempotencyKey: 'order-17',
    });
    socket.ackLast('publish', { duplicate: true });
    expect(await published).toEqual({ duplicate: true });

    const sent = client.send('peer-2', 'hi', { idempotencyKey: 'k-1' });
    expect(socket.lastSent()).toEqual({
      type: 'send',
      to: 'peer-2',
      data: 'hi',
      requestId: expect.any(String),
      idempotencyKey: 'k-1',
    });
    socket.ackLast('send');
    expect(await sent).toEqual({ duplicate: false });
  });

  it('resolves a publish without options to undefined, as before', async () => {
    const { client, connect } = setup();
    const socket = await connect({ extensions: { idempotency: { windowMs: 300_000 } } });
    const published = client.publish('room', 1);
    expect(socket.lastSent()).not.toHaveProperty('idempotencyKey');
    socket.ackLast();
    expect(await published).toBeUndefined();
  });
});

describe('idempotency not advertised', () => {
  it('sends the plain frames: the key stays off the wire', async () => {
    const { client, connect } = setup();
    const socket = await connect({ extensions: { recovery: {} } });
    const published = client.publish('room', 1, { idempotencyKey: 'order-17' });
    socket.ackLast();
    expect(await published).toEqual({ duplicate: false });
    const sent = client.send('peer-2', 2, { idempotencyKey: 'k-1' });
    socket.ackLast();
    expect(await sent).toEqual({ duplicate: false });
    expect(socket.sentFrames).toEqual([
      { type: 'publish', channel: 'room', data: 1, requestId: expect.any(String) },
      { type: 'send', to: 'peer-2', data: 2, requestId: expect.any(String) },
    ]);
  });
});
