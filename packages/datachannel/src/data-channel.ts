import { DataChannelOverflowError, MeteredRealtimeError } from '@metered/errors';
import { Emitter, type EventClass, type EventHandler } from '@metered/events';
import { DATA_CHANNEL_DEFAULTS } from './defaults.js';
import {
  DCClose,
  DCError,
  DCMessage,
  DCOpen,
  type DataChannelEvent,
  type DataChannelMessageData,
} from './events.js';
import type {
  DataChannelEventLike,
  DataChannelMessageEventLike,
  DataChannelSendData,
  RTCDataChannelLike,
} from './rtc-data-channel-like.js';

declare global {
  // The declarations name `Symbol.asyncDispose` (`await using`). It is in TypeScript's
  // `esnext.disposable` lib and in `@types/node`; this makes it known to an app compiled with an
  // older `lib` too (TypeScript merges the declarations). Types only: nothing changes at run time.
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}

/** Options of {@link DataChannel}; every field has a default. */
export interface DataChannelOptions {
  /** Bytes the channel may buffer before a send waits. Default 1 MiB. */
  readonly maxBufferedAmount?: number;
  /**
   * Low-water mark written onto the channel as its `bufferedAmountLowThreshold`: waiting sends
   * resume when the buffer drains to it. Default half of `maxBufferedAmount`.
   */
  readonly bufferedAmountLowThreshold?: number;
  /** Sends waiting or in progress before `send` rejects with `DataChannelOverflowError`. Default 256. */
  readonly maxQueuedSends?: number;
  /**
   * Receives what a throwing event handler threw. Default: rethrown outside the emitter (as an
   * `EventTarget` does), so it surfaces as an uncaught error without breaking other handlers.
   */
  readonly onHandlerError?: (err: unknown) => void;
}

/** Options of {@link DataChannel.send}. */
export interface DataChannelSendOptions {
  /** Aborting removes a send that has not reached the channel yet; it rejects with the reason. */
  readonly signal?: AbortSignal;
}

interface QueuedSend {
  readonly data: DataChannelSendData;
  readonly size: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

const encoder = new TextEncoder();

/** Bytes a payload occupies on the wire: UTF-8 bytes of a string, `byteLength` otherwise. */
export function payloadSize(data: DataChannelSendData): number {
  if (typeof data === 'string') return utf8Length(data);
  return data.byteLength;
}

function utf8Length(text: string): number {
  // Pure ASCII is by far the common case and needs no encoding.
  for (let index = 0; index < text.length; index++) {
    if (text.charCodeAt(index) > 0x7f) return encoder.encode(text).byteLength;
  }
  return text.length;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function rethrowOutside(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

/**
 * A backpressure-aware wrapper over any `RTCDataChannel`: sends are queued in order, each waits
 * while the channel's buffer would exceed `maxBufferedAmount`, and resumes on
 * `bufferedamountlow`. A single payload larger than `maxBufferedAmount` is sent once the buffer
 * is empty, so every send settles.
 */
export class DataChannel {
  /** The wrapped channel. */
  readonly channel: RTCDataChannelLike;
  readonly maxBufferedAmount: number;
  readonly bufferedAmountLowThreshold: number;
  readonly maxQueuedSends: number;

  readonly #emitter: Emitter<DataChannelEvent>;
  readonly #queue: QueuedSend[] = [];
  #closed = false;
  #closeEmitted = false;
  #waitingForBuffer = false;
  readonly #listeners: ReadonlyArray<readonly [string, (event: DataChannelEventLike) => void]>;

  constructor(channel: RTCDataChannelLike, options: DataChannelOptions = {}) {
    this.channel = channel;
    this.maxBufferedAmount = positiveInteger(
      'maxBufferedAmount',
      options.maxBufferedAmount ?? DATA_CHANNEL_DEFAULTS.maxBufferedAmount,
    );
    const lowWater = options.bufferedAmountLowThreshold ?? Math.floor(this.maxBufferedAmount / 2);
    if (!Number.isSafeInteger(lowWater) || lowWater < 0 || lowWater > this.maxBufferedAmount) {
      throw new RangeError(
        `bufferedAmountLowThreshold must be an integer from 0 to maxBufferedAmount, got ${String(lowWater)}`,
      );
    }
    this.bufferedAmountLowThreshold = lowWater;
    this.maxQueuedSends = positiveInteger(
      'maxQueuedSends',
      options.maxQueuedSends ?? DATA_CHANNEL_DEFAULTS.maxQueuedSends,
    );
    this.#emitter = new Emitter(options.onHandlerError ?? rethrowOutside);

    channel.bufferedAmountLowThreshold = lowWater;
    if (channel.binaryType !== undefined && channel.binaryType !== 'arraybuffer') {
      channel.binaryType = 'arraybuffer';
    }
    this.#listeners = [
      ['open', () => this.#onOpen()],
      ['close', () => this.#onChannelClose()],
      ['error', (event) => this.#onError(event as { error?: unknown })],
      ['message', (event) => this.#onMessage(event as DataChannelMessageEventLike)],
      ['bufferedamountlow', () => this.#pump()],
    ];
    for (const [type, listener] of this.#listeners) channel.addEventListener(type, listener);
    if (channel.readyState === 'closing' || channel.readyState === 'closed') this.close();
  }

  /** The wrapped channel's state; `closed` once this wrapper is closed. */
  get readyState(): string {
    return this.#closed ? 'closed' : this.channel.readyState;
  }

  /** Sends waiting or in progress. */
  get queuedSends(): number {
    return this.#queue.length;
  }

  /** Whether `close()` ran or the channel closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues `data`; resolves once it was handed to the channel. Rejects with
   * `DataChannelOverflowError` when `maxQueuedSends` sends are already queued, with a
   * `MeteredRealtimeError` when the wrapper is or becomes closed before the send went out, with
   * the signal's reason when aborted first, or with what the channel's `send` threw.
   * Sends made while the channel is still `connecting` wait for it to open.
   */
  send(data: DataChannelSendData, options: DataChannelSendOptions = {}): Promise<void> {
    if (this.#closed) return Promise.reject(closedError('DataChannel is closed'));
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    if (this.#queue.length === 0 && this.#fitsNow(data)) {
      // Nothing queued and room in the buffer: hand it over at once, as the queue would.
      try {
        this.channel.send(data);
      } catch (err) {
        // What the channel threw is passed through unchanged, as for a queued send.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        return Promise.reject(err);
      }
      return Promise.resolve();
    }
    if (this.#queue.length >= this.maxQueuedSends) {
      return Promise.reject(
        new DataChannelOverflowError({ queued: this.#queue.length, cap: this.maxQueuedSends }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const entry: QueuedSend = {
        data,
        size: payloadSize(data),
        resolve,
        reject,
        signal,
        onAbort: undefined,
      };
      if (signal !== undefined) {
        entry.onAbort = () => this.#abort(entry);
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.#queue.push(entry);
      if (this.#queue.length === 1) this.#pump();
    });
  }

  /** Registers `handler` for events of `type`; returns the function that unregisters it. */
  on<E extends DataChannelEvent>(type: EventClass<E>, handler: EventHandler<E>): () => void {
    return this.#emitter.on(type, handler);
  }

  /** Like `on`, for the next event of `type` only. */
  once<E extends DataChannelEvent>(type: EventClass<E>, handler: EventHandler<E>): () => void {
    return this.#emitter.on(type, handler, true);
  }

  /** Unregisters one registration of `handler` for `type`. */
  off<E extends DataChannelEvent>(type: EventClass<E>, handler: EventHandler<E>): void {
    this.#emitter.off(type, handler);
  }

  /**
   * Closes the wrapper and the channel. Idempotent. Every queued send rejects with a
   * `MeteredRealtimeError`; `DCClose` is emitted once, then every handler is dropped.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [type, listener] of this.#listeners)
      this.channel.removeEventListener(type, listener);
    const pending = this.#queue.splice(0);
    const waited = this.#waitingForBuffer;
    this.#waitingForBuffer = false;
    for (const [index, entry] of pending.entries()) {
      this.#detachSignal(entry);
      entry.reject(
        closedError(
          index === 0 && waited
            ? 'DataChannel closed while waiting for buffer space'
            : 'DataChannel closed before the send went out',
        ),
      );
    }
    if (this.channel.readyState !== 'closed' && this.channel.readyState !== 'closing') {
      try {
        this.channel.close();
      } catch {
        // Closing a channel that is already going away is not an error worth surfacing.
      }
    }
    this.#emitClose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #emitClose(): void {
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    this.#emitter.emit(new DCClose());
    this.#emitter.clear();
  }

  #onOpen(): void {
    this.#emitter.emit(new DCOpen());
    this.#pump();
  }

  #onChannelClose(): void {
    this.close();
  }

  #onError(event: { error?: unknown }): void {
    this.#emitter.emit(new DCError({ err: event.error ?? event }));
  }

  #onMessage(event: DataChannelMessageEventLike): void {
    this.#emitter.emit(new DCMessage({ data: event.data as DataChannelMessageData }));
  }

  #abort(entry: QueuedSend): void {
    const index = this.#queue.indexOf(entry);
    if (index === -1) return;
    this.#queue.splice(index, 1);
    entry.reject(entry.signal === undefined ? undefined : abortReason(entry.signal));
    if (index === 0) {
      this.#waitingForBuffer = false;
      this.#pump();
    }
  }

  #detachSignal(entry: QueuedSend): void {
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
    entry.onAbort = undefined;
  }

  /** Whether a send of `data` could go to the channel right now without waiting. */
  #fitsNow(data: DataChannelSendData): boolean {
    return (
      this.channel.readyState === 'open' &&
      this.channel.bufferedAmount <= Math.max(0, this.maxBufferedAmount - payloadSize(data))
    );
  }

  /** Hands queued sends to the channel in order while they fit; otherwise arms the wake-up. */
  #pump(): void {
    while (!this.#closed) {
      const head = this.#queue[0];
      if (head === undefined) {
        this.#restoreThreshold();
        return;
      }
      const state = this.channel.readyState;
      if (state === 'connecting') return; // `open` pumps again.
      if (state !== 'open') {
        this.close();
        return;
      }
      // A payload larger than the cap goes out alone, once the buffer is empty.
      const limit = Math.max(0, this.maxBufferedAmount - head.size);
      if (this.channel.bufferedAmount > limit) {
        // Wake up when the buffer drains to where this send fits. The threshold is lowered
        // below the low-water mark only when this payload needs more room than that leaves,
        // and set before the re-check so a drain in between cannot be missed.
        this.#waitingForBuffer = true;
        const target = Math.min(this.bufferedAmountLowThreshold, limit);
        if (this.channel.bufferedAmountLowThreshold !== target) {
          this.channel.bufferedAmountLowThreshold = target;
        }
        if (this.channel.bufferedAmount > limit) return; // `bufferedamountlow` pumps again.
      }
      this.#waitingForBuffer = false;
      this.#queue.shift();
      this.#detachSignal(head);
      try {
        this.channel.send(head.data);
        head.resolve();
      } catch (err) {
        head.reject(err);
      }
    }
  }

  #restoreThreshold(): void {
    if (this.channel.bufferedAmountLowThreshold !== this.bufferedAmountLowThreshold) {
      this.channel.bufferedAmountLowThreshold = this.bufferedAmountLowThreshold;
    }
  }
}

function closedError(message: string): MeteredRealtimeError {
  return new MeteredRealtimeError({ message });
}

/** The reason an aborted signal carries (an `AbortError` `DOMException` unless the caller gave one). */
function abortReason(signal: AbortSignal): Error {
  return signal.reason as Error;
}
