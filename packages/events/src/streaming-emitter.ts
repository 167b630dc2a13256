import { Emitter } from './emitter.js';
import type { EventClass } from './event-class.js';

/** Options of `events()`. */
export interface EventStreamOptions {
  /** Ends the stream when aborted. */
  readonly signal?: AbortSignal;
  /** Events kept while the consumer is slower than the producer (default 256); the oldest is dropped. */
  readonly bufferSize?: number;
}

/**
 * An {@link Emitter} whose events can also be read as async iterables (`events()`), each with a
 * bounded buffer, all ended together by `end()`. A separate class so that an emitter without
 * streams does not carry their code.
 */
export class StreamingEmitter<Events extends object = object> extends Emitter<Events> {
  readonly #streams = new Set<() => void>();

  /** The events of one class as an async iterable, ended by {@link StreamingEmitter.end} or the signal. */
  events<T extends Events>(
    type: EventClass<T>,
    { signal, bufferSize = 256 }: EventStreamOptions = {},
  ): AsyncIterableIterator<T> {
    const buffer: T[] = [];
    const finished: IteratorResult<T> = { done: true, value: undefined };
    let wake: ((result: IteratorResult<T>) => void) | undefined;
    // Ends the stream. Buffered events are still delivered after `end()` (no argument), dropped
    // on abort (the abort event) and on break or `return()` (true).
    const stop = (clear?: unknown): void => {
      if (clear) buffer.length = 0;
      // An open stream is one still in the set.
      if (this.#streams.delete(stop)) {
        unsubscribe();
        signal?.removeEventListener('abort', stop);
        wake?.(finished);
      }
    };
    const unsubscribe = this.on(type, (event) => {
      if (wake) wake({ done: false, value: event });
      else if (buffer.push(event) > bufferSize) buffer.shift();
      wake = undefined;
    });
    this.#streams.add(stop);
    if (signal?.aborted) stop(true);
    else signal?.addEventListener('abort', stop);
    return {
      next: async () =>
        buffer.length
          ? { done: false, value: buffer.shift() as T }
          : this.#streams.has(stop)
            ? new Promise((resolve) => (wake = resolve))
            : finished,
      return: () => {
        stop(true);
        return Promise.resolve(finished);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Ends every open `events()` stream (listeners registered with `on` stay). */
  end(): void {
    // Deleting the entry being visited does not disturb a Set's iteration.
    for (const end of this.#streams) end();
  }
}
