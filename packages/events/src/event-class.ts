/** A class whose instances are events: `client.on(Message, (event) => …)` infers `event: Message`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventClass<T extends object = object> = abstract new (...args: any[]) => T;

/** A function called with each event of one class. */
export type EventHandler<T> = (event: T) => void;
