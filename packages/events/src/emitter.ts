import type { EventClass, EventHandler } from './event-class.js';

/**
 * One `on`: the handler as passed (what `off` matches), whether it runs once, and the function
 * that removes this registration, returning whether it was still registered.
 */
type Registration = readonly [
  handler: EventHandler<never>,
  once: boolean | undefined,
  remove: () => boolean,
];

/**
 * A small typed emitter keyed by event class. Listeners run synchronously in registration order.
 * An emit runs the listeners registered when it starts (one removed meanwhile still runs, one
 * added waits for the next emit), except that a `once` listener runs at most once. Each `on` is
 * its own registration: its unsubscribe function, or one `off` call, removes that one only. A
 * listener that throws is reported to `onListenerError` and the others still run.
 */
export class Emitter<Events extends object = object> {
  // Copy on write: an emit in progress keeps iterating the array it started with.
  readonly #registrations = new Map<EventClass, readonly Registration[]>();
  readonly #onListenerError: (error: unknown) => void;

  /** @param onListenerError - Receives what a throwing listener threw. */
  constructor(onListenerError: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  /**
   * Registers `handler` for the events of `type`, for the next one only when `once`. Returns the
   * function that removes this registration (and no other registration of the same handler).
   */
  on<E extends Events>(type: EventClass<E>, handler: EventHandler<E>, once?: boolean): () => void {
    const registrations = this.#registrations;
    const registration: Registration = [
      handler,
      once,
      () => {
        const list = registrations.get(type) ?? [];
        registrations.set(
          type,
          list.filter((entry) => entry !== registration),
        );
        return list.includes(registration);
      },
    ];
    registrations.set(type, [...(registrations.get(type) ?? []), registration]);
    return registration[2];
  }

  /** Removes one registration of `handler` for `type`: the earliest. */
  off<E extends Events>(type: EventClass<E>, handler: EventHandler<E>): void {
    this.#registrations
      .get(type)
      ?.find(([entry]) => entry === handler)?.[2]();
  }

  /** Calls the listeners of the event's class (its constructor) with the event. */
  emit(event: Events): void {
    for (const [handler, once, remove] of this.#registrations.get(
      event.constructor as EventClass,
    ) ?? []) {
      // A once listener removed meanwhile (its unsubscribe, or a nested emit) is skipped.
      if (once && !remove()) continue;
      try {
        (handler as EventHandler<Events>)(event);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.#registrations.clear();
  }
}
