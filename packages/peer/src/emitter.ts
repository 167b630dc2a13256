/** A class whose instances are events: `peer.on(Joined, (event) => …)` infers `event: Joined`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventClass<T extends object = object> = abstract new (...args: any[]) => T;

/** A function called with each event of one class. */
export type EventHandler<T> = (event: T) => void;

interface Registration {
  readonly handler: EventHandler<never>;
  readonly once: boolean;
}

/**
 * A small typed emitter keyed by event class. Listeners run synchronously in registration order;
 * one that throws is reported to `onListenerError` and the others still run.
 */
export class Emitter {
  readonly #registrations = new Map<EventClass, Registration[]>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  on<T extends object>(type: EventClass<T>, handler: EventHandler<T>, once = false): () => void {
    const list = this.#registrations.get(type) ?? [];
    // Copy on write: an emit in progress keeps iterating the array it started with.
    this.#registrations.set(type, [...list, { handler, once }]);
    return () => this.off(type, handler);
  }

  off<T extends object>(type: EventClass<T>, handler: EventHandler<T>): void {
    const list = this.#registrations.get(type);
    if (!list) return;
    const rest = list.filter((entry) => entry.handler !== handler);
    if (rest.length > 0) this.#registrations.set(type, rest);
    else this.#registrations.delete(type);
  }

  emit(event: object): void {
    const type = event.constructor as EventClass;
    const list = this.#registrations.get(type);
    if (!list) return;
    for (const entry of list) {
      const handler = entry.handler as EventHandler<object>;
      if (entry.once) this.off(type, handler);
      try {
        handler(event);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }

  /** Number of registered listeners (all classes). */
  get size(): number {
    let count = 0;
    for (const list of this.#registrations.values()) count += list.length;
    return count;
  }

  clear(): void {
    this.#registrations.clear();
  }
}
