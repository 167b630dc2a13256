import type { WebSocketLike } from '../websocket.js';

/** A frame for {@link FakeWebSocket.deliver}: text as is, or an object sent as its JSON. */
export type FakeFrame = string | Record<string, unknown>;

/** Fields of a welcome frame; each has a default in {@link FakeWebSocket.welcome}. */
export interface FakeWelcome {
  readonly peerId?: string;
  readonly expiresAt?: number | null;
  readonly serverTime?: number;
  readonly maxMessageSize?: number;
  readonly metadata?: Record<string, unknown>;
  /** The extensions the server advertises (`recovery`, `resume`, `refresh`, `idempotency`). */
  readonly extensions?: Record<string, unknown>;
}

/**
 * A WebSocket driven by the test: open it, deliver server frames (one at a time or several in one
 * synchronous burst, as `ws` does for one TCP read), close it with a code, inspect what was sent.
 */
export class FakeWebSocket implements WebSocketLike {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  readyState = FakeWebSocket.CONNECTING;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  /** Every text frame the client sent, in order. */
  readonly sent: string[] = [];
  /** The arguments of the client's `close()` call, if any. */
  closedWith:
    { readonly code: number | undefined; readonly reason: string | undefined } | undefined;
  /** When `true`, `close()` never completes (the close event never comes). */
  holdClose = false;
  /** When `true`, `close(code)` throws for codes a browser refuses (other than 1000 and 3000–4999). */
  browserCloseCodes = false;

  constructor(readonly url: string) {}

  /** The frames the client sent, parsed. */
  get sentFrames(): Record<string, unknown>[] {
    return this.sent.map((text) => JSON.parse(text) as Record<string, unknown>);
  }

  /** The last frame the client sent (of `type`, if given), parsed. */
  lastSent(type?: string): Record<string, unknown> | undefined {
    return this.sentFrames.filter((frame) => type === undefined || frame.type === type).at(-1);
  }

  /** True while any `on…` handler is set. */
  get hasListeners(): boolean {
    return Boolean(this.onopen ?? this.onmessage ?? this.onclose ?? this.onerror);
  }

  send(data: string): void {
    if (this.readyState === FakeWebSocket.CONNECTING) throw new Error('socket not open');
    if (this.readyState === FakeWebSocket.OPEN) this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    if (
      this.browserCloseCodes &&
      code !== undefined &&
      code !== 1000 &&
      (code < 3000 || code > 4999)
    ) {
      throw new DOMException('invalid close code', 'InvalidAccessError');
    }
    if (this.readyState >= FakeWebSocket.CLOSING) return;
    this.closedWith = { code, reason };
    this.readyState = FakeWebSocket.CLOSING;
    if (!this.holdClose) queueMicrotask(() => this.finishClose());
  }

  /** Completes a close the client started: the close event carries the client's code. */
  finishClose(): void {
    if (this.readyState === FakeWebSocket.CLOSED) return;
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code: this.closedWith?.code ?? 1005, reason: this.closedWith?.reason ?? '' });
  }

  // ---- driven by the test, as the server ----

  open(): this {
    this.readyState = FakeWebSocket.OPEN;
    this.onopen?.({ type: 'open' });
    return this;
  }

  /** Delivers frames in one synchronous burst (objects are JSON-encoded). */
  deliver(...frames: FakeFrame[]): this {
    for (const frame of frames) {
      this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
    }
    return this;
  }

  /** Delivers a binary frame. */
  deliverBinary(data: Uint8Array = new Uint8Array([1])): this {
    this.onmessage?.({ data });
    return this;
  }

  /** Opens the socket if needed and delivers a welcome. */
  welcome(fields: FakeWelcome = {}): this {
    if (this.readyState === FakeWebSocket.CONNECTING) this.open();
    return this.deliver({
      type: 'welcome',
      peerId: 'peer-1',
      expiresAt: null,
      serverTime: 1_767_225_600_000,
      maxMessageSize: 65_536,
      ...fields,
    });
  }

  /**
   * Acks the last request the client sent (of `type`, if given), with the extensions' `extras`
   * (`position`, `recovered`, `resumeToken`, `expiresAt`, `duplicate` …); returns its requestId.
   */
  ackLast(type?: string, extras?: Record<string, unknown>): string {
    const requestId = this.lastSent(type)?.requestId as string;
    this.deliver({ type: 'ack', requestId, ...extras });
    return requestId;
  }

  /** The server closes the socket with `code` (1006: the connection died). */
  serverClose(code = 1006, reason = ''): void {
    if (this.readyState === FakeWebSocket.CLOSED) return;
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code, reason });
  }

  /** Fires an error event. */
  error(): void {
    this.onerror?.({ type: 'error' });
  }
}

/** A `webSocketFactory` that records every socket it creates. */
export interface FakeWebSocketFactory {
  (url: string): FakeWebSocket;
  readonly sockets: readonly FakeWebSocket[];
  /** The most recent socket; throws when none was created. */
  readonly last: FakeWebSocket;
}

/** Creates a {@link FakeWebSocketFactory}: pass it as `webSocketFactory`. */
export function createFakeWebSocketFactory(): FakeWebSocketFactory {
  const sockets: FakeWebSocket[] = [];
  const factory = (url: string): FakeWebSocket => {
    const socket = new FakeWebSocket(url);
    sockets.push(socket);
    return socket;
  };
  return Object.defineProperties(factory, {
    sockets: { value: sockets },
    last: {
      get: () => {
        const socket = sockets.at(-1);
        if (!socket) throw new Error('no socket was created');
        return socket;
      },
    },
  }) as FakeWebSocketFactory;
}
