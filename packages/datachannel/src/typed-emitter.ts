import type { EventClass, EventHandler } from './events.js';

interface Registration<Events> {
  /** The handler as the caller passed it, what `off` matches. */
  readonly handler: unknown;
  readonly call: EventHandler<Events>;
}

/**
 * Handlers registered by event class. A throwing handler never breaks the emitter or the other
 * handlers: its error goes to `onHandlerError`.
 */
export class TypedEmitter<Events extends object> {
  readonly #registrations = new Map<EventClass<Events>, Set<Registration<Events>>>();
  readonly #onHandlerError: (err: unknown) => void;

  constructor(onHandlerError: (err: unknown) => void) {
    this.#onHandlerError = onHandlerError;
  }

  #add<E extends Events>(type: EventClass<E>, registration: Registration<Events>): () => void {
    let set = this.#registrations.get(type);
    if (set === undefined) {
      set = new Set();
      this.#registrations.set(type, set);
    }
    const registrations = set;
    registrations.add(registration);
    return () => {
      registrations.delete(registration);
    };
  }

  on<E extends Events>(type: EventClass<E>, handler: EventHandler<E>): () => void {
    return this.#add(type, { handler, call: (event) => handler(event as E) });
  }

  once<E extends Events>(type: EventClass<E>, handler: EventHandler<E>): () => void {
    const off = this.#add(type, {
      handler,
      call: (event) => {
        off();
        handler(event as E);
      },
    });
    return off;
  }

  off<E extends Events>(type: EventClass<E>, handler: EventHandler<E>): void {
    const set = this.#registrations.get(type);
    if (set === undefined) return;
    for (const registration of set) {
      if (registration.handler === handler) {
        set.delete(registration);
        return;
      }
    }
  }

  emit(event: Events): void {
    const set = this.#registrations.get(event.constructor as EventClass<Events>);
    if (set === undefined) return;
    // A snapshot, so handlers added meanwhile wait for the next event; one handler needs no copy.
    const registrations =
      set.size === 1 ? [set.values().next().value as Registration<Events>] : [...set];
    for (const registration of registrations) {
      try {
        registration.call(event);
      } catch (err) {
        this.#onHandlerError(err);
      }
    }
  }

  listenerCount(type: EventClass<Events>): number {
    return this.#registrations.get(type)?.size ?? 0;
  }

  clear(): void {
    this.#registrations.clear();
  }
}
