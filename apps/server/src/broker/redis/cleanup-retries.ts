/**
 * Clean-up calls whose outcome is unknown, retried until Redis answers. A script that timed out
 * on the client may still run (Redis was paused, or its reply was lost), so what it may have
 * taken is given back by an idempotent compensating script; that one may time out too, so it is
 * kept and tried again every `intervalMs` until it gets an answer. At most `limit` wait; beyond
 * that the oldest is dropped (`onDropped`), so a Redis that never comes back costs bounded memory.
 */
export class CleanupRetries {
  private readonly pending = new Set<() => Promise<unknown>>();
  private readonly running = new Set<() => Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly intervalMs: number,
    private readonly limit: number,
    private readonly onDropped: () => void,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Runs `call` now and again until it resolves. It must be idempotent. */
  add(call: () => Promise<unknown>): void {
    if (this.closed) return;
    if (this.pending.size >= this.limit) {
      const oldest = this.pending.values().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
      this.onDropped();
    }
    this.pending.add(call);
    this.attempt(call);
  }

  /** One last attempt at everything pending (before leaving the cluster). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending].map((call) => call()));
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private attempt(call: () => Promise<unknown>): void {
    if (this.running.has(call)) return;
    this.running.add(call);
    call().then(
      () => {
        this.running.delete(call);
        this.pending.delete(call);
        if (this.pending.size === 0) {
          clearInterval(this.timer);
          this.timer = undefined;
        }
      },
      () => {
        this.running.delete(call);
        this.schedule();
      },
    );
  }

  private schedule(): void {
    if (this.closed || this.timer !== undefined || this.pending.size === 0) return;
    this.timer = setInterval(() => {
      for (const call of [...this.pending]) this.attempt(call);
    }, this.intervalMs);
    this.timer.unref();
  }
}
