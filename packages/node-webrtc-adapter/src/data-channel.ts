import type { DataChannel as NativeDataChannel } from 'node-datachannel';
import { nativeCallback } from './native-callback.js';
import { NodeMessageEvent, NodeRTCErrorEvent, emit, type NodeEventHandler } from './events.js';

/** The states of an `RTCDataChannel`. */
export type RTCDataChannelStateLike = 'connecting' | 'open' | 'closing' | 'closed';

/** The fields of `RTCDataChannelInit`. */
export interface RTCDataChannelInitLike {
  ordered?: boolean;
  maxPacketLifeTime?: number;
  maxRetransmits?: number;
  protocol?: string;
  negotiated?: boolean;
  id?: number;
}

/** An `RTCDataChannel` over a node-datachannel channel. */
export class NodeRTCDataChannel extends EventTarget {
  readonly label: string;
  readonly ordered: boolean;
  readonly maxPacketLifeTime: number | null;
  readonly maxRetransmits: number | null;
  readonly protocol: string;
  readonly negotiated: boolean;
  /** `'arraybuffer'` (the default here) or `'blob'`. */
  binaryType: 'arraybuffer' | 'blob' = 'arraybuffer';

  onopen: NodeEventHandler<NodeRTCDataChannel> = null;
  onclose: NodeEventHandler<NodeRTCDataChannel> = null;
  onclosing: NodeEventHandler<NodeRTCDataChannel> = null;
  onerror: NodeEventHandler<NodeRTCDataChannel, NodeRTCErrorEvent> = null;
  onmessage: NodeEventHandler<NodeRTCDataChannel, NodeMessageEvent> = null;
  onbufferedamountlow: NodeEventHandler<NodeRTCDataChannel> = null;

  readonly #native: NativeDataChannel;
  #readyState: RTCDataChannelStateLike;
  #threshold = 0;
  #id: number | null;
  #lastBufferedAmount = 0;

  /** @internal */
  constructor(native: NativeDataChannel, init: RTCDataChannelInitLike = {}) {
    super();
    this.#native = native;
    this.label = native.getLabel();
    this.protocol = init.protocol ?? safe(() => native.getProtocol(), '');
    this.ordered = init.ordered ?? true;
    this.maxPacketLifeTime = init.maxPacketLifeTime ?? null;
    this.maxRetransmits = init.maxRetransmits ?? null;
    this.negotiated = init.negotiated ?? false;
    this.#id = init.id ?? null;
    this.#readyState = safe(() => native.isOpen(), false) ? 'open' : 'connecting';
    native.onOpen(nativeCallback(() => this.#onOpen()));
    native.onClosed(nativeCallback(() => this.#onClosed()));
    native.onError(
      nativeCallback((message) => {
        if (this.#readyState === 'closed') return;
        emit(this, new NodeRTCErrorEvent('error', { error: new Error(message) }));
      }),
    );
    native.onBufferedAmountLow(
      nativeCallback(() => {
        if (this.#readyState === 'closed') return;
        emit(this, new Event('bufferedamountlow'));
      }),
    );
    native.onMessage(nativeCallback((message) => this.#onMessage(message)));
  }

  /** The SCTP stream id, once known. */
  get id(): number | null {
    if (this.#id === null && this.#readyState !== 'closed') {
      const id = safe(() => this.#native.getId(), -1);
      if (id >= 0 && id < 65535) this.#id = id;
    }
    return this.#id;
  }

  get readyState(): RTCDataChannelStateLike {
    return this.#readyState;
  }

  /** Bytes queued in the native send buffer. */
  get bufferedAmount(): number {
    if (this.#readyState !== 'open')
      return this.#readyState === 'closed' ? 0 : this.#lastBufferedAmount;
    try {
      this.#lastBufferedAmount = this.#native.bufferedAmount();
    } catch {
      this.#lastBufferedAmount = 0;
    }
    return this.#lastBufferedAmount;
  }

  get bufferedAmountLowThreshold(): number {
    return this.#threshold;
  }

  set bufferedAmountLowThreshold(value: number) {
    const threshold = Math.max(0, Math.floor(Number(value) || 0));
    this.#threshold = threshold;
    if (this.#readyState !== 'closed') {
      safe(() => this.#native.setBufferedAmountLowThreshold(threshold), undefined);
    }
  }

  /** The largest message the remote side accepts. */
  get maxMessageSize(): number {
    return safe(() => this.#native.maxMessageSize(), 65_536);
  }

  /** Sends text or binary; throws an `InvalidStateError` unless the channel is open. */
  send(data: string | ArrayBuffer | ArrayBufferView | Blob): void {
    if (this.#readyState !== 'open') {
      throw new DOMException(`data channel is ${this.#readyState}`, 'InvalidStateError');
    }
    if (typeof data === 'string') {
      this.#native.sendMessage(data);
    } else if (data instanceof Uint8Array) {
      this.#native.sendMessageBinary(data);
    } else if (data instanceof ArrayBuffer) {
      this.#native.sendMessageBinary(new Uint8Array(data));
    } else if (ArrayBuffer.isView(data)) {
      this.#native.sendMessageBinary(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } else {
      throw new TypeError('Blob payloads are not supported; send an ArrayBuffer');
    }
  }

  close(): void {
    if (this.#readyState === 'closed' || this.#readyState === 'closing') return;
    this.#readyState = 'closing';
    safe(() => this.#native.close(), undefined);
  }

  /** @internal The peer connection closed: no further events. */
  _dispose(): void {
    if (this.#readyState === 'closed') return;
    this.#readyState = 'closed';
    safe(() => this.#native.close(), undefined);
  }

  /** @internal For a channel the remote side opened: fires `open` if it is already open. */
  _announceOpen(): void {
    if (this.#readyState === 'open') emit(this, new Event('open'));
  }

  #onOpen(): void {
    if (this.#readyState !== 'connecting') return;
    this.#readyState = 'open';
    this.bufferedAmountLowThreshold = this.#threshold;
    emit(this, new Event('open'));
  }

  #onClosed(): void {
    if (this.#readyState === 'closed') return;
    this.#readyState = 'closed';
    emit(this, new Event('close'));
  }

  #onMessage(message: string | Buffer | ArrayBuffer): void {
    if (this.#readyState === 'closed') return;
    let data: string | ArrayBuffer | Blob;
    if (typeof message === 'string') {
      data = message;
    } else if (message instanceof ArrayBuffer) {
      data = this.binaryType === 'blob' ? new Blob([message]) : message;
    } else {
      // node-datachannel hands each message over in a Buffer of its own: its whole ArrayBuffer
      // is the message and nothing else holds it, so it is passed on without a copy.
      const own = message.byteOffset === 0 && message.byteLength === message.buffer.byteLength;
      const buffer = (
        own
          ? message.buffer
          : message.buffer.slice(message.byteOffset, message.byteOffset + message.byteLength)
      ) as ArrayBuffer;
      data = this.binaryType === 'blob' ? new Blob([buffer]) : buffer;
    }
    emit(this, new NodeMessageEvent('message', { data }));
  }
}

function safe<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}
