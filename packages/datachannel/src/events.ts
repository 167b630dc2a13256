/** The wrapped channel opened: sends start flowing. */
export class DCOpen {
  constructor() {
    Object.freeze(this);
  }
}

/** The wrapped channel closed, or the wrapper was closed. Emitted once. */
export class DCClose {
  constructor() {
    Object.freeze(this);
  }
}

/** Options of {@link DCError}. */
export interface DCErrorOptions {
  readonly err: unknown;
}

/** The wrapped channel reported an error. */
export class DCError {
  readonly err: unknown;

  constructor(options: DCErrorOptions) {
    this.err = options.err;
    Object.freeze(this);
  }
}

/** The payload of a message: text, or binary as an `ArrayBuffer`. */
export type DataChannelMessageData = string | ArrayBuffer;

/** Options of {@link DCMessage}. */
export interface DCMessageOptions {
  readonly data: DataChannelMessageData;
}

/** A message arrived on the wrapped channel, passed through untouched. */
export class DCMessage {
  readonly data: DataChannelMessageData;

  constructor(options: DCMessageOptions) {
    this.data = options.data;
    Object.freeze(this);
  }
}

/** Every event class a `DataChannel` emits. */
export type DataChannelEvent = DCOpen | DCClose | DCError | DCMessage;
