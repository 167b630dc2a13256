import {
  ICE_RESTART_DELAYS_MS as iceRestartDelaysMs,
  ICE_RESTART_ANSWER_TIMEOUT_MS as iceRestartAnswerTimeoutMs,
} from './options.js';

type Timer = ReturnType<typeof setTimeout>;

/** What an {@link IceRestartLadder} drives. */
export interface IceRestartLadderHost {
  /** Time for restart number `attempt` (from 1): an offer with fresh ICE credentials. */
  restart(attempt: number): void;
  /** Every delay of `iceRestartDelaysMs` was tried without the connection coming back. */
  exhausted(attempts: number): void;
}

/**
 * The ICE restarts of one remote peer after its connection failed: restart number `n` starts
 * `iceRestartDelaysMs[n - 1]` after the previous one gave up, and each waits
 * `iceRestartAnswerTimeoutMs` for its answer before the next one is scheduled. Success (ICE or the
 * connection is connected again) stops the ladder and starts it from the bottom next time.
 */
export class IceRestartLadder {
  readonly #host: IceRestartLadderHost;
  #attempt = 0;
  #restartTimer: Timer | undefined;
  #answerTimer: Timer | undefined;
  #exhausted = false;

  constructor(host: IceRestartLadderHost) {
    this.#host = host;
  }

  /** A restart's offer waits for its answer (the next offer must restart ICE too). */
  get awaitingAnswer(): boolean {
    return this.#answerTimer !== undefined;
  }

  /** ICE failed: schedules the next restart unless one is scheduled or waiting for its answer. */
  failed(): void {
    if (!this.#restartTimer && !this.#answerTimer) this.#next();
  }

  /** A remote description was applied: the restart's negotiation completed (or was replaced). */
  answered(): void {
    clearTimeout(this.#answerTimer);
    this.#answerTimer = undefined;
  }

  /** Connected again, or the connection is dropped: every timer cleared, next time from the bottom. */
  reset(): void {
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.answered();
    this.#attempt = 0;
    this.#exhausted = false;
  }

  #next(): void {
    const delay = iceRestartDelaysMs[this.#attempt];
    if (delay === undefined) {
      if (!this.#exhausted) {
        this.#exhausted = true;
        this.#host.exhausted(iceRestartDelaysMs.length);
      }
      return;
    }
    this.#attempt++;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#answerTimer = setTimeout(() => {
        this.#answerTimer = undefined;
        this.#next();
      }, iceRestartAnswerTimeoutMs);
      this.#host.restart(this.#attempt);
    }, delay);
  }
}
