export type Timer = ReturnType<typeof setTimeout>;

/** Running timers that stop together: each leaves the set when it fires or is cleared. */
export class TimerSet {
  readonly #timers = new Set<Timer>();

  /** Calls `callback` after `ms`, unless cleared first. */
  set(callback: () => void, ms: number): Timer {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      callback();
    }, ms);
    this.#timers.add(timer);
    return timer;
  }

  clear(timer: Timer | undefined): void {
    clearTimeout(timer);
    this.#timers.delete(timer as Timer);
  }

  clearAll(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
