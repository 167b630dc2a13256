// The contract of the one emitter every package uses: dispatch by class, one registration per
// `on`, each unsubscribe function and `off` removing exactly one registration, and a throwing
// listener never breaking the emitter.
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

  it('keeps an on and a once of the same function apart: two emits call it three times', () => {
    const emitter = new Emitter(() => {});
    const handler = vi.fn();
    emitter.on(Ping, handler);
    emitter.on(Ping, handler, true);
    emitter.emit(new Ping(1));
    emitter.emit(new Ping(2));
    expect(handler.mock.calls.map(([event]) => (event as Ping).value)).toEqual([1, 1, 2]);
  });

  it('an unsubscribe function removes its own registration only', () => {
    const emitter = new Emitter(() => {});
    const handler = vi.fn();
    const offFirst = emitter.on(Ping, handler);
    const offSecond = emitter.on(Ping, handler);
    offFirst();
    offFirst();
    emitter.emit(new Ping(1));
    expect(handler).toHaveBeenCalledTimes(1);
    offSecond();
    emitter.emit(new Ping(2));
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('off removes one registration of the function per call, the earliest first', () => {
    const emitter = new Emitter(() => {});
    const handler = vi.fn();
    emitter.on(Ping, handler);
    emitter.on(Ping, handler, true);
    emitter.off(Ping, handler);
    emitter.emit(new Ping(1));
    emitter.emit(new Ping(2));
    // The `on` went first; the `once` stayed and fired once.
    expect(handler).toHaveBeenCalledTimes(1);
    emitter.on(Ping, handler);
    emitter.on(Ping, handler);
    emitter.off(Ping, handler);
    emitter.emit(new Ping(3));
    expect(handler).toHaveBeenCalledTimes(2);
    emitter.off(Ping, handler);
    emitter.off(Ping, handler);
    emitter.emit(new Ping(4));
    expect(handler).toHaveBeenCalledTimes(2);
  });

  it('reports a throwing listener and keeps going, for this emit and the next', () => {
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
    emitter.emit(new Ping(2));
    expect(onError).toHaveBeenCalledTimes(2);
    expect(after).toHaveBeenCalledTimes(2);
  });

  it('a throwing once listener is still removed', () => {
    const onError = vi.fn();
    const emitter = new Emitter(onError);
    emitter.on(
      Ping,
      () => {
        throw new Error('once');
      },
      true,
    );
    emitter.emit(new Ping(1));
    emitter.emit(new Ping(2));
    expect(onError).toHaveBeenCalledTimes(1);
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

  it('a once listener runs once even when an earlier listener emits again', () => {
    const emitter = new Emitter(() => {});
    const once = vi.fn();
    emitter.on(Ping, (event) => {
      if (event.value === 1) emitter.emit(new Ping(2));
    });
    emitter.on(Ping, once, true);
    emitter.emit(new Ping(1));
    expect(once.mock.calls.map(([event]) => (event as Ping).value)).toEqual([2]);
  });

  it('a listener added during an emit waits for the next one', () => {
    const emitter = new Emitter(() => {});
    const late = vi.fn();
    emitter.on(
      Ping,
      () => {
        emitter.on(Ping, late);
      },
      true,
    );
    emitter.emit(new Ping(1));
    expect(late).not.toHaveBeenCalled();
    emitter.emit(new Ping(2));
    expect(late).toHaveBeenCalledTimes(1);
  });

  it('clear drops every listener', () => {
    const emitter = new Emitter(() => {});
    const handler = vi.fn();
    emitter.on(Ping, handler);
    emitter.on(Pong, handler);
    emitter.clear();
    emitter.emit(new Ping(1));
    emitter.emit(new Pong('x'));
    expect(handler).not.toHaveBeenCalled();
  });
});
