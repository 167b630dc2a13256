/** A class whose instances are events: `client.on(Message, (event) => …)` infers `event: Message`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventClass<T extends object = object> = abstract new (...args: any[]) => T;

/** A function called with each event of one class. */
export type EventHandler<T> = (event: T) => void;

/** Options of `events()`. */
export interface EventStreamOptions {
  /** Ends the stream when aborted. */
  readonly signal?: AbortSignal;
  /** Events kept while the consumer is slower than the producer (default 256); the oldest is dropped. */
  readonly bufferSize?: number;
}

/** A handler and whether it runs once. */
type Registration = readonly [handler: EventHandler<never>, once: boolean];

/**
 * A small typed emitter keyed by event class. Listeners run synchronously in registration order;
 * one that throws is reported to `onListenerError` and the others still run.
 */
export class Emitter {
  readonly #registrations = new Map<EventClass, readonly Registration[]>();
  readonly #streams = new Set<() => void>();

  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  on<T extends object>(type: EventClass<T>, handler: EventHandler<T>, once = false): () => void {
    // Copy on write: an emit in progress keeps iterating the array it started with.
    this.#registrations.set(type, [...(this.#registrations.get(type) ?? []), [handler, once]]);
    return () => this.off(type, handler);
  }

  off<T extends object>(type: EventClass<T>, handler: EventHandler<T>): void {
    const list = this.#registrations.get(type);
    if (list)
      this.#registrations.set(
        type,
        list.filter(([entry]) => entry !== handler),
      );
  }

  emit(event: object): void {
    const type = event.constructor as EventClass;
    for (const [handler, once] of this.#registrations.get(type) ?? []) {
      if (once) this.off(type, handler as EventHandler<object>);
      try {
        (handler as EventHandler<object>)(event);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }

  /** The events of one class as an async iterable, ended by {@link Emitter.end} or the signal. */
  events<T extends object>(
    type: EventClass<T>,
    { signal, bufferSize = 256 }: EventStreamOptions = {},
  ): AsyncIterableIterator<T> {
    const buffer: T[] = [];
    const finished: IteratorResult<T> = { done: true, value: undefined };
    let wake: ((result: IteratorResult<T>) => void) | undefined;
    let done = false;
    // Ends the stream; buffered events are still delivered unless `clear` (abort, break).
    const stop = (clear?: unknown): void => {
      if (clear === true || (clear as Event | undefined)?.type === 'abort') buffer.length = 0;
      if (done) return;
      done = true;
      unsubscribe();
      this.#streams.delete(stop);
      signal?.removeEventListener('abort', stop);
      wake?.(finished);
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
        buffer.length > 0
          ? { done: false, value: buffer.shift() as T }
          : done
            ? finished
            : new Promise((resolve) => (wake = resolve)),
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
    for (const end of [...this.#streams]) end();
  }
}
