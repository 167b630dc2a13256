import { redactSecrets } from './redact.js';

/** The names of every error class, the type of `err.name` on the base class. */
export type MeteredRealtimeErrorName =
  | 'MeteredRealtimeError'
  | SignallingErrorName
  | 'MeteredPeerSendError'
  | 'MeteredPeerOversizedError'
  | 'MeteredPeerStateError'
  | 'MeteredPeerReplaceTrackError'
  | 'DataChannelOverflowError';

/** The names of `SignallingError` and its subclasses. */
export type SignallingErrorName =
  | 'SignallingError'
  | 'SignallingConnectError'
  | 'ServerRequestError'
  | 'AckTimeoutError'
  | 'DisconnectedError';

/** Options every error constructor takes. */
export interface MeteredRealtimeErrorOptions {
  /** Human-readable text; secrets are removed from it. Not part of the stable contract. */
  readonly message?: string;
  /** The underlying failure, if any. */
  readonly cause?: unknown;
}

// `instanceof` goes by the literal `name` getter each class of this package declares on its own
// prototype, not by identity, so it works when two copies of the package share one process.
/** The literal `name` a class of this package declares on its own prototype, if any. */
function brandOf(prototype: object): unknown {
  return Object.getOwnPropertyDescriptor(prototype, 'name')?.get?.call(prototype);
}

/** Root of every error the SDK raises: `catch (err) { if (err instanceof MeteredRealtimeError) … }`. */
export class MeteredRealtimeError extends Error {
  /** @param fallbackMessage - the text used when `options.message` is absent (for subclasses). */
  constructor(options: MeteredRealtimeErrorOptions = {}, fallbackMessage = 'realtime error') {
    super(
      redactSecrets(options.message ?? fallbackMessage),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    // A subclass's attributes are its options other than `message` and `cause`.
    for (const key in options) {
      if (key !== 'message' && key !== 'cause') {
        (this as Record<string, unknown>)[key] = options[key as keyof typeof options];
      }
    }
  }

  override get name(): MeteredRealtimeErrorName {
    return 'MeteredRealtimeError';
  }

  /** Brand check that survives duplicate installs of this package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    const brand = brandOf(this.prototype);
    // A subclass declared outside this package has no brand: plain `instanceof`.
    if (typeof brand !== 'string') return Function.prototype[Symbol.hasInstance].call(this, value);
    // `Object()` boxes primitives and turns `null` and `undefined` into `{}`: none is branded.
    for (
      let prototype: object | null = Object(value) as object;
      (prototype = Object.getPrototypeOf(prototype) as object | null);
    ) {
      if (brandOf(prototype) === brand) return true;
    }
    return false;
  }

  /** A plain, secret-free object for logs and JSON. */
  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = { name: this.name, message: this.message };
    for (const [key, value] of Object.entries(this)) {
      json[key] = typeof value === 'string' ? redactSecrets(value) : value;
    }
    return json;
  }
}
