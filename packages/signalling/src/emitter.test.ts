import { describe, expect, it, vi } from 'vitest';
import { Emitter } from './emitter.js';

class Ping {
  constructor(readonly value: number) {}
}
class Pong {
  constructor(readonly value: string) {}
}

describe('Emitter', () => {
  it('dispatches by class, in registration order', () => {
    const emitter = new Emitter(() => {});
    const seen: string[] = [];
    emitter.on(Ping, (event) => seen.push(`a${event.value}`));
    emitter.on(Ping, (event) => seen.push(`b${event.value}`));
    emitter.on(Pong, (event) => seen.push(`pong ${event.value}`));
    emitter.emit(new Ping(1));
    emitter.emit(new Pong('x'));
    expect(seen).toEqual(['a1', 'b1', 'pong x']);
  });

  it('reports a throwing listener and keeps going', () => {
    const onError = vi.fn();
    const emitter = new Emitter(onError);
    const after = vi.fn();
    emitter.on(Ping, () => {
      throw new Error('boom');
    });
    emitter.on(Ping, after);
    emitter.emit(new Ping(1));
    expect(onError).toHaveBeenCalledWith(new Error('boom'));
    expect(after).toHaveBeenCalledTimes(1);
  });

  it('lets a listener remove itself or others during an emit without skipping anyone', () => {
    const emitter = new Emitter(() => {});
    const seen: string[] = [];
    const second = (): void => void seen.push('second');
    const off = emitter.on(Ping, () => {
      seen.push('first');
      off();
      emitter.off(Ping, second);
    });
    emitter.on(Ping, second);
    emitter.emit(new Ping(1));
    emitter.emit(new Ping(2));
    expect(seen).toEqual(['first', 'second']);
  });

  it('once fires a single time and off removes it before it fires', () => {
    const emitter = new Emitter(() => {});
    const once = vi.fn();
    const never = vi.fn();
    emitter.on(Ping, once, true);
    emitter.on(Ping, never, true);
    emitter.off(Ping, never);
    emitter.emit(new Ping(1));
    emitter.emit(new Ping(2));
    expect(once).toHaveBeenCalledTimes(1);
    expect(never).not.toHaveBeenCalled();
  });

  it('events() delivers buffered events after end() and then finishes', async () => {
    const emitter = new Emitter(() => {});
    const stream = emitter.events(Ping);
    emitter.emit(new Ping(1));
    emitter.end();
    emitter.emit(new Ping(2));
    expect(await stream.next()).toEqual({ done: false, value: new Ping(1) });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('events() unsubscribes when the consumer breaks', async () => {
    const emitter = new Emitter(() => {});
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
    const emitter = new Emitter(() => {});
    const stream = emitter.events(Ping, { signal: AbortSignal.abort() });
    emitter.emit(new Ping(1));
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });
});
