/**
 * The answers (acks, errors) of a socket's frames whose broker calls are in flight together,
 * written in the order of the frames. A frame whose broker call was made while earlier ones are
 * unanswered gets its answer after theirs, and an answer a later frame has at once (a refusal)
 * waits behind them too. What is in flight counts against the socket's inbound bounds.
 */
export class PipelinedAnswers {
  /** Settles once the last answer in flight is written; undefined when none is. */
  private tail: Promise<void> | undefined;
  /** True while an answer is written: every earlier one is, so the next may go at once. */
  private answering = false;
  private frameCount = 0;
  private byteCount = 0;
  private failed = false;

  /** @param onFailure a broker call failed, or writing an answer threw: the socket fails. */
  constructor(private readonly onFailure: (error: unknown) => void) {}

  /** Frames whose answer is not written yet. */
  get frames(): number {
    return this.frameCount;
  }

  /** UTF-8 bytes of the frames whose answer is not written yet. */
  get bytes(): number {
    return this.byteCount;
  }

  /** Settles once every answer in flight is written (rejects if one fails); undefined when none is. */
  get settled(): Promise<void> | undefined {
    return this.tail;
  }

  /** Whether an answer written now would overtake one in flight. */
  get busy(): boolean {
    return this.tail !== undefined && !this.answering;
  }

  /** Writes an answer now, or after the answers in flight. */
  write(answer: () => void): void {
    if (this.busy) this.after(Promise.resolve(undefined), answer, 0);
    else answer();
  }

  /**
   * Writes the answer to a broker call made now (after the calls of earlier frames) once the
   * broker replied and every earlier answer is written. `bytes`: the frame's size.
   */
  after<T>(reply: Promise<T>, answer: (value: T) => void, bytes: number): void {
    const previous = this.tail;
    // Failures too come in order: a reply is taken only after every earlier answer. Once an
    // earlier one failed, this reply is never taken: its own failure is no unhandled rejection.
    reply.catch(() => undefined);
    const ready = previous === undefined ? reply : previous.then(() => reply);
    this.frameCount++;
    this.byteCount += bytes;
    const link: Promise<void> = ready.then((value) => {
      this.frameCount--;
      this.byteCount -= bytes;
      this.answering = true;
      try {
        answer(value);
      } finally {
        this.answering = false;
        if (this.tail === link) this.tail = undefined;
      }
    });
    this.tail = link;
    link.catch((error: unknown) => {
      // Every later answer fails with it: the socket hears of the first only.
      if (this.failed) return;
      this.failed = true;
      this.onFailure(error);
    });
  }
}
