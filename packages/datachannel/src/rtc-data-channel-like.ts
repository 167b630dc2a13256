/** The states of an `RTCDataChannel`. */
export type DataChannelReadyState = 'connecting' | 'open' | 'closing' | 'closed';

/** What may be sent: text, or binary as an `ArrayBuffer` or a view of one. */
export type DataChannelSendData = string | ArrayBuffer | ArrayBufferView;

/** What listeners receive; only `message` (its `data`) and `error` events are read. */
export interface DataChannelEventLike {
  readonly type?: string;
}

/** The event passed to `message` listeners; other listeners ignore their argument. */
export interface DataChannelMessageEventLike {
  readonly data: unknown;
}

/**
 * The part of `RTCDataChannel` the wrapper uses, as a structural type: a browser's
 * `RTCDataChannel`, the Node adapter's channel or a test fake all fit, and nothing of the DOM
 * is needed at run time.
 */
export interface RTCDataChannelLike {
  readonly readyState: DataChannelReadyState | (string & {});
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  binaryType?: string;
  send(data: DataChannelSendData): void;
  close(): void;
  addEventListener(type: string, listener: (event: DataChannelEventLike) => void): void;
  removeEventListener(type: string, listener: (event: DataChannelEventLike) => void): void;
}
