import { invalidState } from './dom-errors.js';

/**
 * The operations chain and the negotiation-needed flag of a peer connection, as in browsers:
 * the description methods run one after another, and `negotiationneeded` fires, in a later
 * turn, once something is to be negotiated, no operation is pending and the signalling state is
 * stable.
 */
export class NegotiationNeeded {
  readonly #isClosed: () => boolean;
  readonly #isStable: () => boolean;
  readonly #fire: () => void;
  /** Something is to be negotiated. */
  needed = false;
  #scheduled = false;
  #operations: Promise<unknown> = Promise.resolve();
  #pendingOperations = 0;

  constructor(options: { isClosed: () => boolean; isStable: () => boolean; fire: () => void }) {
    this.#isClosed = options.isClosed;
    this.#isStable = options.isStable;
    this.#fire = options.fire;
  }

  /** Runs `operation` after the ones before it; rejects once the connection is closed. */
  enqueue<T>(operation: () => T): Promise<T> {
    if (this.#isClosed()) return Promise.reject(invalidState('the peer connection is closed'));
    this.#pendingOperations++;
    const run = this.#operations.then(() => {
      if (this.#isClosed()) throw invalidState('the peer connection is closed');
      return operation();
    });
    this.#operations = run.catch(() => undefined);
    return run.finally(() => {
      this.#pendingOperations--;
      this.maybeFire();
    });
  }

  /** Something changed that the remote side must learn of. */
  mark(): void {
    this.needed = true;
    this.maybeFire();
  }

  /** Schedules `negotiationneeded` if it is due (checked again when the turn comes). */
  maybeFire(): void {
    if (this.#isClosed() || !this.needed || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#isClosed() || !this.needed || !this.#isStable() || this.#pendingOperations > 0) {
        return;
      }
      this.needed = false;
      this.#fire();
    });
  }
}
