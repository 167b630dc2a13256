import { DataChannelOverflowError, MeteredRealtimeError } from '@metered/errors';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { settle, track } from '../test/promise-state.js';
import { FakeDataChannel } from './testing/index.js';
import {
  DATA_CHANNEL_DEFAULTS,
  DCClose,
  DCError,
  DCMessage,
  DCOpen,
  DataChannel,
  payloadSize,
  type RTCDataChannelLike,
} from './index.js';

const KiB = 1024;

function setup(options: ConstructorParameters<typeof DataChannel>[1] = {}) {
  const channel = new FakeDataChannel();
  const dc = new DataChannel(channel, options);
  return { channel, dc };
}

describe('DataChannel options', () => {
  it('defaults to 1 MiB, half of it as low-water mark written onto the channel, 256 sends', () => {
    const { channel, dc } = setup();
    expect(DATA_CHANNEL_DEFAULTS).toEqual({ maxBufferedAmount: 1_048_576, maxQueuedSends: 256 });
    expect(Object.isFrozen(DATA_CHANNEL_DEFAULTS)).toBe(true);
    expect(dc.maxBufferedAmount).toBe(1_048_576);
    expect(dc.bufferedAmountLowThreshold).toBe(524_288);
    expect(dc.maxQueuedSends).toBe(256);
    expect(channel.bufferedAmountLowThreshold).toBe(524_288);
    expect(channel.binaryType).toBe('arraybuffer');
  });

  it('takes its own values and rejects impossible ones', () => {
    const { channel, dc } = setup({ maxBufferedAmount: 100, bufferedAmountLowThreshold: 10 });
    expect(channel.bufferedAmountLowThreshold).toBe(10);
    expect(dc.maxBufferedAmount).toBe(100);
    expect(() => setup({ maxBufferedAmount: 0 })).toThrow(RangeError);
    expect(() => setup({ maxQueuedSends: 1.5 })).toThrow(RangeError);
    expect(() => setup({ maxBufferedAmount: 10, bufferedAmountLowThreshold: 11 })).toThrow(
      RangeError,
    );
  });

  it('measures strings in UTF-8 bytes and binary by byteLength', () => {
    expect(payloadSize('abc')).toBe(3);
    expect(payloadSize('é')).toBe(2);
    expect(payloadSize('😀')).toBe(4);
    expect(payloadSize(new ArrayBuffer(7))).toBe(7);
    expect(payloadSize(new Uint16Array(3))).toBe(6);
    expect(payloadSize(new DataView(new ArrayBuffer(10), 2, 5))).toBe(5);
  });

  it('accepts a DOM RTCDataChannel by type', () => {
    const accepts = (channel: RTCDataChannelLike) => channel;
    expectTypeOf(accepts).toBeCallableWith({} as RTCDataChannel);
  });
});

describe('DataChannel.send', () => {
  it('sends at once while the buffer has room, in order', async () => {
    const { channel, dc } = setup();
    await Promise.all([dc.send('a'), dc.send(new Uint8Array([1, 2])), dc.send('c')]);
    expect(channel.sent).toEqual(['a', new Uint8Array([1, 2]), 'c']);
    expect(dc.queuedSends).toBe(0);
  });

  it('hands a send on an idle open channel over before returning; a throw rejects only that send', async () => {
    const { channel, dc } = setup();
    const first = dc.send('now');
    expect(channel.sent).toEqual(['now']);
    const boom = new Error('boom');
    channel.sendError = boom;
    const second = dc.send('fails');
    channel.sendError = undefined;
    await expect(first).resolves.toBeUndefined();
    await expect(second).rejects.toBe(boom);
    await dc.send('after');
    expect(channel.sent).toEqual(['now', 'after']);
    expect(dc.queuedSends).toBe(0);
  });

  it('waits while bufferedAmount + size exceeds the cap and resumes on bufferedamountlow', async () => {
    const { channel, dc } = setup({ maxBufferedAmount: 10 * KiB });
    await dc.send(new Uint8Array(8 * KiB));
    const second = track(dc.send(new Uint8Array(4 * KiB)));
    const third = track(dc.send('x'));
    await settle();
    expect(second.state()).toBe('pending');
    expect(third.state()).toBe('pending');
    expect(channel.sent).toHaveLength(1);

    channel.drain(2 * KiB); // 6 KiB left: above the 5 KiB low-water mark, no event.
    await settle();
    expect(second.state()).toBe('pending');

    channel.drain(1 * KiB); // 5 KiB: crosses the mark.
    await settle();
    expect(second.state()).toBe('fulfilled');
    expect(third.state()).toBe('fulfilled');
    expect(channel.sent).toHaveLength(3);
    expect(channel.bufferedAmountLowThreshold).toBe(5 * KiB);
  });

  it('lowers the wake-up threshold when a payload needs more room than the low-water mark leaves', async () => {
    const { channel, dc } = setup({ maxBufferedAmount: 10 * KiB });
    await dc.send(new Uint8Array(9 * KiB));
    const big = track(dc.send(new Uint8Array(7 * KiB))); // needs buffered ≤ 3 KiB
    await settle();
    expect(channel.bufferedAmountLowThreshold).toBe(3 * KiB);
    channel.drain(5 * KiB); // 4 KiB: below the low-water mark, still no room
    await settle();
    expect(big.state()).toBe('pending');
    channel.drain(1 * KiB);
    await settle();
    expect(big.state()).toBe('fulfilled');
    expect(channel.bufferedAmountLowThreshold).toBe(5 * KiB);
  });

  it('sends a payload larger than the cap on an idle channel at once', async () => {
    const { channel, dc } = setup({ maxBufferedAmount: 1 * KiB });
    await dc.send(new Uint8Array(5 * KiB));
    expect(channel.sent).toHaveLength(1);
  });

  it('sends a payload larger than the cap once the buffer is empty, never hanging', async () => {
    const { channel, dc } = setup({ maxBufferedAmount: 4 * KiB });
    await dc.send(new Uint8Array(3 * KiB));
    const huge = track(dc.send(new Uint8Array(64 * KiB)));
    await settle();
    expect(channel.bufferedAmountLowThreshold).toBe(0);
    channel.drain(2 * KiB); // crosses the 2 KiB low-water mark but not empty
    await settle();
    expect(huge.state()).toBe('pending');
    channel.drain();
    await settle();
    expect(huge.state()).toBe('fulfilled');
    expect(channel.sent).toHaveLength(2);
  });

  it('rejects with DataChannelOverflowError {queued, cap} when the queue is full', async () => {
    const { channel, dc } = setup({ maxBufferedAmount: 10, maxQueuedSends: 3 });
    channel.bufferedAmount = 10;
    const queued = [dc.send('a'), dc.send('b'), dc.send('c')].map(track);
    const overflow = dc.send('d');
    await expect(overflow).rejects.toBeInstanceOf(DataChannelOverflowError);
    await expect(overflow).rejects.toMatchObject({
      name: 'DataChannelOverflowError',
      queued: 3,
      cap: 3,
    });
    expect(queued.map((entry) => entry.state())).toEqual(['pending', 'pending', 'pending']);
    channel.drain();
    await settle();
    expect(queued.map((entry) => entry.state())).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    await dc.send('e');
    expect(channel.sent).toEqual(['a', 'b', 'c', 'e']);
  });

  it('settles each queued send on its own when the channel send throws', async () => {
    const { channel, dc } = setup({ maxBufferedAmount: 10 });
    channel.bufferedAmount = 10;
    const first = dc.send('a');
    const second = dc.send('b');
    const boom = new Error('boom');
    channel.sendError = boom;
    channel.drain();
    await expect(first).rejects.toBe(boom);
    await expect(second).rejects.toBe(boom);
    channel.sendError = undefined;
    await dc.send('c');
    expect(channel.sent).toEqual(['c']);
  });

  it('waits for a connecting channel to open', async () => {
    const channel = new FakeDataChannel();
    channel.readyState = 'connecting';
    const dc = new DataChannel(channel);
    const opened = vi.fn();
    dc.on(DCOpen, opened);
    const pending = track(dc.send('hello'));
    await settle();
    expect(pending.state()).toBe('pending');
    channel.open();
    await settle();
    expect(opened).toHaveBeenCalledOnce();
    expect(pending.state()).toBe('fulfilled');
    expect(channel.sent).toEqual(['hello']);
  });

  it('removes an aborted send from the queue and lets the next one go', async () => {
    const { channel, dc } = setup({ maxBufferedAmount: 10 });
    channel.bufferedAmount = 8;
    const controller = new AbortController();
    const big = dc.send('0123456789', { signal: controller.signal });
    const small = track(dc.send('x'));
    controller.abort(new Error('changed my mind'));
    await expect(big).rejects.toThrow('changed my mind');
    await settle();
    expect(small.state()).toBe('fulfilled');
    expect(channel.sent).toEqual(['x']);
    await expect(dc.send('y', { signal: AbortSignal.abort() })).rejects.toBeDefined();
  });

  it('ignores an abort after the send went out', async () => {
    const { channel, dc } = setup();
    const controller = new AbortController();
    await dc.send('a', { signal: controller.signal });
    controller.abort();
    expect(channel.sent).toEqual(['a']);
  });
});

describe('DataChannel.close', () => {
  it('rejects every waiter with a typed error, emits DCClose once, and is idempotent', async () => {
    const { channel, dc } = setup({ maxBufferedAmount: 10 });
    channel.bufferedAmount = 10;
    const closed = vi.fn();
    dc.on(DCClose, closed);
    const waiters = [dc.send('a'), dc.send('b')];
    dc.close();
    dc.close();
    for (const waiter of waiters) {
      await expect(waiter).rejects.toBeInstanceOf(MeteredRealtimeError);
    }
    await expect(waiters[0]).rejects.toThrow(/waiting for buffer/);
    expect(closed).toHaveBeenCalledOnce();
    expect(channel.closeCalls).toBe(1);
    expect(channel.listenerCount()).toBe(0);
    expect(dc.closed).toBe(true);
    expect(dc.readyState).toBe('closed');
    await expect(dc.send('c')).rejects.toThrow(/closed/);
  });

  it('follows the channel closing underneath, settling waiters', async () => {
    const { channel, dc } = setup({ maxBufferedAmount: 10 });
    channel.bufferedAmount = 10;
    const closed = vi.fn();
    dc.on(DCClose, closed);
    const waiter = dc.send('a');
    channel.remoteClose();
    await expect(waiter).rejects.toBeInstanceOf(MeteredRealtimeError);
    expect(closed).toHaveBeenCalledOnce();
  });

  it('closes at once over an already closed channel', async () => {
    const channel = new FakeDataChannel();
    channel.readyState = 'closed';
    const dc = new DataChannel(channel);
    expect(dc.closed).toBe(true);
    await expect(dc.send('a')).rejects.toBeInstanceOf(MeteredRealtimeError);
  });

  it('supports await using through Symbol.asyncDispose', async () => {
    const { channel, dc } = setup();
    await dc[Symbol.asyncDispose]();
    expect(dc.closed).toBe(true);
    expect(channel.readyState).toBe('closed');
  });
});

describe('DataChannel events', () => {
  it('emits DCMessage with the data untouched and DCError with the error', () => {
    const { channel, dc } = setup();
    const messages: unknown[] = [];
    const errors: unknown[] = [];
    dc.on(DCMessage, (event) => {
      expectTypeOf(event.data).toEqualTypeOf<string | ArrayBuffer>();
      messages.push(event.data);
    });
    dc.on(DCError, (event) => errors.push(event.err));
    const buffer = new ArrayBuffer(3);
    channel.dispatch('message', { data: 'hi' });
    channel.dispatch('message', { data: buffer });
    const failure = new Error('sctp failure');
    channel.dispatch('error', { error: failure });
    expect(messages).toEqual(['hi', buffer]);
    expect(messages[1]).toBe(buffer);
    expect(errors).toEqual([failure]);
  });

  it('returns an unsubscribe from on, supports once and off', () => {
    const { channel, dc } = setup();
    const onHandler = vi.fn();
    const onceHandler = vi.fn();
    const offHandler = vi.fn();
    const unsubscribe = dc.on(DCMessage, onHandler);
    dc.once(DCMessage, onceHandler);
    dc.on(DCMessage, offHandler);
    channel.dispatch('message', { data: '1' });
    unsubscribe();
    dc.off(DCMessage, offHandler);
    channel.dispatch('message', { data: '2' });
    expect(onHandler).toHaveBeenCalledOnce();
    expect(onceHandler).toHaveBeenCalledOnce();
    expect(offHandler).toHaveBeenCalledOnce();
  });

  it('with a single handler: a once handler runs once, a handler it adds waits for the next event, a throw is reported', () => {
    const handlerErrors: unknown[] = [];
    const channel = new FakeDataChannel();
    const dc = new DataChannel(channel, { onHandlerError: (err) => handlerErrors.push(err) });
    const seen: string[] = [];
    dc.once(DCMessage, ({ data }) => {
      seen.push(`once ${data as string}`);
      dc.on(DCMessage, ({ data: later }) => {
        seen.push(`added ${later as string}`);
        throw new Error('handler bug');
      });
    });
    channel.dispatch('message', { data: '1' });
    channel.dispatch('message', { data: '2' });
    expect(seen).toEqual(['once 1', 'added 2']);
    expect(handlerErrors).toEqual([new Error('handler bug')]);
  });

  it('keeps emitting to other handlers when one throws', () => {
    const handlerErrors: unknown[] = [];
    const channel = new FakeDataChannel();
    const dc = new DataChannel(channel, { onHandlerError: (err) => handlerErrors.push(err) });
    const after = vi.fn();
    dc.on(DCMessage, () => {
      throw new Error('handler bug');
    });
    dc.on(DCMessage, after);
    channel.dispatch('message', { data: 'x' });
    expect(after).toHaveBeenCalledOnce();
    expect(handlerErrors).toHaveLength(1);
  });

  it('emits immutable event objects', () => {
    const event = new DCMessage({ data: 'x' });
    expect(Object.isFrozen(event)).toBe(true);
    expect(Object.isFrozen(new DCError({ err: 1 }))).toBe(true);
  });
});
