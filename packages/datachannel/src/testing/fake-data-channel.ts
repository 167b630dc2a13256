import { payloadSize } from '../data-channel.js';
import type {
  DataChannelEventLike,
  DataChannelReadyState,
  DataChannelSendData,
  RTCDataChannelLike,
} from '../rtc-data-channel-like.js';

/** Options of a {@link FakeDataChannel}. */
export interface FakeDataChannelInit {
  /** The state it starts in (`'open'` unless given; a real channel starts `'connecting'`). */
  readonly readyState?: DataChannelReadyState;
}

/**
 * An in-memory `RTCDataChannel` with backpressure: every send adds its size (UTF-8 bytes for
 * text, `byteLength` otherwise) to `bufferedAmount` and stays there until the test calls
 * {@link FakeDataChannel.drain}, as the network would; crossing `bufferedAmountLowThreshold`
 * downwards fires `bufferedamountlow`. Nothing travels: the test reads {@link FakeDataChannel.sent},
 * delivers incoming messages with {@link FakeDataChannel.receive} and drives the state with
 * `open()`, `close()` and `remoteClose()`.
 */
export class FakeDataChannel implements RTCDataChannelLike {
  readonly label: string;
  readyState: DataChannelReadyState;
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType = 'blob';
  /** Every payload sent, in order. */
  readonly sent: DataChannelSendData[] = [];
  /** How many times `close()` was called. */
  closeCalls = 0;
  /** When set, every `send` throws it. */
  sendError: Error | undefined = undefined;
  readonly #listeners = new Map<string, Set<(event: DataChannelEventLike) => void>>();

  constructor(label = '', init: FakeDataChannelInit = {}) {
    this.label = label;
    this.readyState = init.readyState ?? 'open';
  }

  /** Throws `sendError` if set, or an `InvalidStateError` unless open, as a browser does. */
  send(data: DataChannelSendData): void {
    if (this.sendError !== undefined) throw this.sendError;
    if (this.readyState !== 'open') {
      throw invalidState(`send on a ${this.readyState} channel`);
    }
    this.sent.push(data);
    this.bufferedAmount += payloadSize(data);
  }

  /** Closes the channel from this side (counted in `closeCalls`); `close` fires once. */
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

  // ---- driven by the test, as the network and the other side ----

  /** How many listeners are registered, over every event type. */
  listenerCount(): number {
    let count = 0;
    for (const set of this.#listeners.values()) count += set.size;
    return count;
  }

  /** Calls the listeners of `type` with `event`. */
  dispatch(type: string, event: object): void {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) listener(event);
  }

  /** The network took `bytes` (all, by default) off the buffer; fires `bufferedamountlow` on crossing the threshold. */
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

  /** A message from the other side. */
  receive(data: string | ArrayBuffer): void {
    this.dispatch('message', { type: 'message', data });
  }

  /** The channel opened. */
  open(): void {
    this.readyState = 'open';
    this.dispatch('open', {});
  }

  /** The other side (or the connection) closed the channel; not counted in `closeCalls`. */
  remoteClose(): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.dispatch('close', {});
  }
}

function invalidState(message: string): Error {
  const error = new Error(message);
  error.name = 'InvalidStateError';
  return error;
}
