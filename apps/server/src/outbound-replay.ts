import type { OutboundFrame } from './outbound.js';
import type { ReplaySource } from './history/history-types.js';

/** What the replay needs of a socket. */
export interface ReplaySink {
  /** Writes one frame now. */
  write(frame: OutboundFrame): void;
  /** Bytes written but not yet taken by the kernel (`ws.bufferedAmount`, held-back writes first flushed). */
  buffered(): number;
  /** Calls `resume` once the socket's buffer drained; returns a function that cancels the wait. */
  waitForDrain(resume: () => void): () => void;
  /** A replay could not be read (the broker failed): close the socket. */
  fail(error: unknown): void;
}

type Item =
  | { readonly kind: 'frame'; readonly frame: OutboundFrame; readonly bytes: number }
  | { readonly kind: 'replay'; source: ReplaySource | Iterator<OutboundFrame> | undefined };

function frameBytes(frame: OutboundFrame): number {
  return typeof frame === 'string' ? frame.length * 3 : frame.byteLength;
}

/**
 * A socket's outbound frames while a recovery replay is being written. The replay goes out in
 * pages that keep the socket's buffer within its outbound bound (the next page when the kernel
 * took the previous one); frames the socket gets meanwhile wait behind it, in order, up to the
 * bound too (past it the socket is a slow consumer). A replay read from a network broker may
 * still be on its way: everything behind it waits for it.
 */
export class OutboundReplay {
  private readonly queue: Item[] = [];
  private queuedBytes = 0;
  private cancelWait: (() => void) | undefined;
  private pumping = false;
  private closed = false;

  constructor(
    private readonly sink: ReplaySink,
    private readonly bound: number,
  ) {}

  /** True while frames must go through {@link hold} (a replay is being written). */
  get active(): boolean {
    return this.queue.length > 0;
  }

  /** Queues a replay after everything queued; frames that follow wait behind it. */
  start(source: ReplaySource): void {
    this.queue.push({ kind: 'replay', source });
    this.pump();
  }

  /** Queues a frame behind the replay; false when the queue is over the outbound bound. */
  hold(frame: OutboundFrame): boolean {
    const bytes = frameBytes(frame);
    if (this.queuedBytes + bytes > this.bound) return false;
    this.queue.push({ kind: 'frame', frame, bytes });
    this.queuedBytes += bytes;
    return true;
  }

  /** Drops everything (the socket closed) and stops waiting. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.cancelWait?.();
    this.cancelWait = undefined;
  }

  private pump(): void {
    if (this.pumping || this.closed || this.cancelWait !== undefined) return;
    this.pumping = true;
    try {
      this.writePages();
    } finally {
      this.pumping = false;
    }
  }

  private writePages(): void {
    while (!this.closed) {
      const item = this.queue[0];
      if (item === undefined) return;
      if (this.sink.buffered() >= this.bound / 2) {
        this.cancelWait = this.sink.waitForDrain(() => {
          this.cancelWait = undefined;
          this.pump();
        });
        return;
      }
      if (item.kind === 'frame') {
        this.queue.shift();
        this.queuedBytes -= item.bytes;
        this.sink.write(item.frame);
        continue;
      }
      const source = item.source;
      if (source instanceof Promise) {
        item.source = undefined;
        this.cancelWait = () => undefined;
        source.then(
          (iterator) => {
            if (this.closed) return;
            item.source = iterator;
            this.cancelWait = undefined;
            this.pump();
          },
          (error: unknown) => {
            if (this.closed) return;
            this.sink.fail(error);
          },
        );
        return;
      }
      const next = source?.next();
      if (next === undefined || next.done === true) {
        this.queue.shift();
        continue;
      }
      this.sink.write(next.value);
    }
  }
}
