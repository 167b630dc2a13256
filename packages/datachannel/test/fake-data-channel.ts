import type {
  DataChannelEventLike,
  DataChannelReadyState,
  DataChannelSendData,
  RTCDataChannelLike,
} from '../src/index.js';

/** An in-memory RTCDataChannel: sends fill the buffer, `drain` empties it like the network. */
export class FakeDataChannel implements RTCDataChannelLike {
  readyState: DataChannelReadyState = 'open';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType = 'blob';
  readonly sent: DataChannelSendData[] = [];
  /** Every value `bufferedAmountLowThreshold` was set to, in order. */
  closeCalls = 0;
  sendError: unknown = undefined;
  readonly #listeners = new Map<string, Set<(event: DataChannelEventLike) => void>>();

  send(data: DataChannelSendData): void {
    if (this.sendError !== undefined) throw this.sendError;
    if (this.readyState !== 'open') throw new Error(`send on ${this.readyState} channel`);
    this.sent.push(data);
    this.bufferedAmount += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  }

  close(): void {
    this.closeCalls++;
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.dispatch('close', {});
  }

  addEventListener(type: string, listener: (event: DataChannelEventLike) => void): void {
    let set = this.#listeners.get(type);
    if (set === undefined) this.#listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  removeEventListener(type: string, listener: (event: DataChannelEventLike) => void): void {
    this.#listeners.get(type)?.delete(listener);
  }

  listenerCount(): number {
    let count = 0;
    for (const set of this.#listeners.values()) count += set.size;
    return count;
  }

  dispatch(type: string, event: object): void {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) {
      listener(event);
    }
  }

  /** The network took `bytes` off the buffer; fires `bufferedamountlow` on crossing the threshold. */
  drain(bytes = this.bufferedAmount): void {
    const before = this.bufferedAmount;
    this.bufferedAmount = Math.max(0, before - bytes);
    if (
      before > this.bufferedAmountLowThreshold &&
      this.bufferedAmount <= this.bufferedAmountLowThreshold
    ) {
      this.dispatch('bufferedamountlow', {});
    }
  }

  open(): void {
    this.readyState = 'open';
    this.dispatch('open', {});
  }

  remoteClose(): void {
    this.readyState = 'closed';
    this.dispatch('close', {});
  }
}

/** Resolves once every pending promise continuation ran. */
export async function settle(): Promise<void> {
  for (let round = 0; round < 5; round++) await Promise.resolve();
}

/** Tracks whether a promise settled, without leaving it unhandled. */
export function track<T>(promise: Promise<T>): {
  readonly state: () => 'pending' | 'fulfilled' | 'rejected';
  readonly error: () => unknown;
} {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  let error: unknown;
  promise.then(
    () => {
      state = 'fulfilled';
    },
    (err: unknown) => {
      state = 'rejected';
      error = err;
    },
  );
  return { state: () => state, error: () => error };
}
