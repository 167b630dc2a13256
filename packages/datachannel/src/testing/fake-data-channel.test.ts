import { describe, expect, it } from 'vitest';
import { DataChannel } from '../data-channel.js';
import { DCMessage } from '../events.js';
import { FakeDataChannel } from './index.js';

describe('FakeDataChannel', () => {
  it('keeps what was sent buffered until drained, and fires bufferedamountlow on the way down', () => {
    const channel = new FakeDataChannel('chat');
    channel.bufferedAmountLowThreshold = 4;
    let lows = 0;
    channel.addEventListener('bufferedamountlow', () => lows++);
    channel.send('héllo');
    channel.send(new Uint8Array(3));
    expect(channel.bufferedAmount).toBe(9);
    channel.drain(4);
    expect([channel.bufferedAmount, lows]).toEqual([5, 0]);
    channel.drain(1);
    expect([channel.bufferedAmount, lows]).toEqual([4, 1]);
    channel.drain();
    expect([channel.bufferedAmount, lows]).toEqual([0, 1]);
    expect(channel.sent).toEqual(['héllo', new Uint8Array(3)]);
  });

  it('refuses sends unless open, as a browser does', () => {
    const channel = new FakeDataChannel('chat', { readyState: 'connecting' });
    expect(() => channel.send('x')).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
    channel.open();
    channel.send('x');
    channel.remoteClose();
    expect(() => channel.send('y')).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
    expect([channel.sent, channel.closeCalls]).toEqual([['x'], 0]);
  });

  it('drives a DataChannel: a send past the cap waits for the drain', async () => {
    const channel = new FakeDataChannel('files');
    const dc = new DataChannel(channel, { maxBufferedAmount: 8, bufferedAmountLowThreshold: 2 });
    const received: unknown[] = [];
    dc.on(DCMessage, (event) => received.push(event.data));
    await dc.send('12345678');
    const second = dc.send('9');
    await Promise.resolve();
    expect(channel.sent).toEqual(['12345678']);
    channel.drain();
    await second;
    expect(channel.sent).toEqual(['12345678', '9']);
    channel.receive('pong');
    expect(received).toEqual(['pong']);
    dc.close();
    expect(channel.closeCalls).toBe(1);
  });
});
