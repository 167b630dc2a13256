import { describe, expect, it, vi } from 'vitest';
import { StreamingEmitter } from './streaming-emitter.js';

class Ping {
  constructor(readonly value: number) {}
}

describe('StreamingEmitter', () => {
  it('is an emitter: on, once, off and a throwing listener behave as in Emitter', () => {
    const onError = vi.fn();
    const emitter = new StreamingEmitter(onError);
    const handler = vi.fn();
    emitter.on(Ping, () => {
      throw new Error('boom');
    });
    emitter.on(Ping, handler);
    emitter.on(Ping, handler, true);
    emitter.emit(new Ping(1));
    emitter.emit(new Ping(2));
    expect(handler).toHaveBeenCalledTimes(3);
    expect(onError).toHaveBeenCalledTimes(2);
  });

  it('events() delivers buffered events after end() and then finishes', async () => {
    const emitter = new StreamingEmitter(() => {});
    const stream = emitter.events(Ping);
    emitter.emit(new Ping(1));
    emitter.end();
    emitter.emit(new Ping(2));
    expect(await stream.next()).toEqual({ done: false, value: new Ping(1) });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('events() unsubscribes when the consumer breaks', async () => {
    const emitter = new StreamingEmitter(() => {});
    const stream = emitter.events(Ping);
    emitter.emit(new Ping(1));
    for await (const event of stream) {
      expect(event.value).toBe(1);
      break;
    }
    emitter.emit(new Ping(2));
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('events() with an already aborted signal is empty', async () => {
    const emitter = new StreamingEmitter(() => {});
    const stream = emitter.events(Ping, { signal: AbortSignal.abort() });
    emitter.emit(new Ping(1));
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('events() keeps the newest bufferSize events and ends on abort', async () => {
    const emitter = new StreamingEmitter(() => {});
    const controller = new AbortController();
    const stream = emitter.events(Ping, { signal: controller.signal, bufferSize: 2 });
    for (const value of [1, 2, 3]) emitter.emit(new Ping(value));
    expect(await stream.next()).toEqual({ done: false, value: new Ping(2) });
    emitter.emit(new Ping(4));
    expect(await stream.next()).toEqual({ done: false, value: new Ping(3) });
    controller.abort();
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('a pending next() resolves with the next event, and with the end on end()', async () => {
    const emitter = new StreamingEmitter(() => {});
    const stream = emitter.events(Ping);
    const first = stream.next();
    emitter.emit(new Ping(1));
    expect(await first).toEqual({ done: false, value: new Ping(1) });
    const second = stream.next();
    emitter.end();
    expect(await second).toEqual({ done: true, value: undefined });
  });
});

describe('StreamingEmitter.events() edges', () => {
  it('return() while a next() waits settles both at once', async () => {
    const emitter = new StreamingEmitter(() => {});
    const stream = emitter.events(Ping);
    const pending = stream.next();
    expect(await stream.return?.()).toEqual({ done: true, value: undefined });
    expect(await pending).toEqual({ done: true, value: undefined });
    emitter.emit(new Ping(1));
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('with bufferSize 0, keeps nothing but hands an event to a consumer already waiting', async () => {
    const emitter = new StreamingEmitter(() => {});
    const stream = emitter.events(Ping, { bufferSize: 0 });
    emitter.emit(new Ping(1));
    const waiting = stream.next();
    emitter.emit(new Ping(2));
    emitter.emit(new Ping(3));
    expect(await waiting).toEqual({ done: false, value: new Ping(2) });
    emitter.end();
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });
});
