import type { EventClass, EventHandler } from './event-class.js';

type Registration = readonly [
  type: EventClass,
  handler: EventHandler<never>,
  once: boolean | undefined,
  remove: () => boolean,
];

export class Emitter<Events extends object = object> {
  #registrations: readonly Registration[] = [];
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  on<E extends Events>(type: EventClass<E>, handler: EventHandler<E>, once?: boolean): () => void {
    const registration: Registration = [
      type,
      handler,
      once,
      () => {
        const list = this.#registrations;
        this.#registrations = list.filter((entry) => entry !== registration);
        return list.includes(registration);
      },
    ];
    this.#registrations = [...this.#registrations, registration];
    return registration[3];
  }

  off<E extends Events>(type: EventClass<E>, handler: EventHandler<E>): void {
    this.#registrations.find((entry) => entry[0] === type && entry[1] === handler)?.[3]();
  }

  emit(event: Events): void {
    for (const [type, handler, once, remove] of this.#registrations) {
      if (type !== event.constructor || (once && !remove())) continue;
      try {
        (handler as EventHandler<Events>)(event);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }

  clear(): void {
    this.#registrations = [];
  }
}
