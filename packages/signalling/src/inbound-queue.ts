/**
 * The inbound items of a connection (its frames, then its close), handled one at a time in wire
 * order by `handle`.
 *
 * The burst-ordering rule: when handling an item settles a request ({@link InboundQueue.markSettled}),
 * the items behind it wait for a later task, after the request's promise continuations have run.
 * `ws` emits every frame of one TCP read in one synchronous burst, before any continuation runs;
 * with the rule, code that runs when `subscribe()` resolves sees the `Presence` snapshot that
 * follows the ack in the same read. Items that arrive in their own task (browsers) are handled at
 * once.
 */
export class InboundQueue<T> {
  readonly #items: T[] = [];
  readonly #handle: (item: T) => void;
  #pumping = false;
  /** A request settled in the current synchronous run: items behind it wait for a later task. */
  #settled = false;
  /** Set while handling waits for a settled request's continuations; cancels that wait. */
  #unpause: (() => void) | undefined;

  constructor(handle: (item: T) => void) {
    this.#handle = handle;
  }

  push(item: T): void {
    // Items wait only while one is handled or during a pause: otherwise, and with no request
    // settled in this run, the item is handled at once, without the array.
    if (this.#settled || this.#pumping || this.#unpause) {
      this.#items.push(item);
    } else {
      this.#pumping = true;
      this.#handle(item);
      this.#pumping = false;
    }
    this.#pump();
  }

  /** Called when a request settles: items of the same synchronous burst wait for a later task. */
  markSettled(): void {
    if (this.#settled) return;
    this.#settled = true;
    queueMicrotask(() => (this.#settled = false));
  }

  /** Drops every unhandled item and cancels a pending wait. */
  clear(): void {
    this.#items.length = 0;
    this.#unpause?.();
    this.#unpause = undefined;
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    const items = this.#items;
    while (!this.#unpause && items.length > 0) {
      if (this.#settled) {
        this.#pause();
        break;
      }
      this.#handle(items.shift() as T);
    }
    this.#pumping = false;
  }

  /** Holds the items until the continuations of a request settled just now have run. */
  #pause(): void {
    const { setImmediate: immediate, clearImmediate } = globalThis;
    // A task after the microtasks: `setImmediate` where the runtime has it, else a zero timer.
    const [set, clear] = immediate ? [immediate, clearImmediate] : [setTimeout, clearTimeout];
    const handle = set(() => {
      this.#unpause = undefined;
      this.#pump();
    });
    this.#unpause = () => clear(handle as never);
  }
}
