/**
 * A socket's frames received and not handled yet, in order, with their total size. Frames wait
 * here while the one before them waits on the broker. {@link hasRoomFor} bounds it: the rate
 * limiter alone would let the queue of a socket whose frames wait on a slow broker grow by
 * `messagesPerSecond` for as long as the broker lags.
 */
const NOTHING_IN_FLIGHT = Object.freeze({ frames: 0, bytes: 0 });

export class InboundQueue {
  private readonly frames: Buffer[] = [];
  private bytes = 0;

  get length(): number {
    return this.frames.length;
  }

  /** UTF-8 bytes of the oldest frame (0 when none). */
  get headBytes(): number {
    return this.frames[0]?.byteLength ?? 0;
  }

  /**
   * Whether one more frame of `frameBytes` may wait: one frame always may (when none is handled
   * and unanswered either); more only within `maxBytes` in total and, when `maxFrames` is given,
   * fewer than `maxFrames` frames. `inFlight`: frames handled whose answer is not written yet,
   * counted with the waiting ones.
   */
  hasRoomFor(
    frameBytes: number,
    maxBytes: number,
    maxFrames?: number,
    inFlight: { readonly frames: number; readonly bytes: number } = NOTHING_IN_FLIGHT,
  ): boolean {
    const frames = this.frames.length + inFlight.frames;
    if (frames === 0) return true;
    if (this.bytes + inFlight.bytes + frameBytes > maxBytes) return false;
    return maxFrames === undefined || frames < maxFrames;
  }

  push(frame: Buffer): void {
    this.frames.push(frame);
    this.bytes += frame.byteLength;
  }

  /** The oldest frame as text, removed from the queue. */
  shift(): string | undefined {
    const frame = this.frames.shift();
    if (frame === undefined) return undefined;
    this.bytes -= frame.byteLength;
    return frame.toString('utf8');
  }

  clear(): void {
    this.frames.length = 0;
    this.bytes = 0;
  }
}
