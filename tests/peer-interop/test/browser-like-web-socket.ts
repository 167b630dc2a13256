import type { WebSocketLike } from '@metered-ca/realtime';
import WebSocket from 'ws';

type EventType = 'open' | 'close' | 'message' | 'error';
type Listener = (event: unknown) => void;

/**
 * `ws` with a browser's event delivery, for the vendor SDK's `webSocketFactory`: one macrotask
 * per event (a browser queues a task per message, while `ws` emits all frames of one read
 * synchronously), text frames as strings, and `close` with `code` / `reason` / `wasClean`.
 */
export class BrowserLikeWebSocket implements WebSocketLike {
  /** Every socket not yet closed, so a test can drop them all at the end. */
  static readonly open = new Set<BrowserLikeWebSocket>();
  readonly url: string;
  readonly #socket: WebSocket;
  readonly #listeners: Record<EventType, Set<Listener>> = {
    open: new Set(),
    close: new Set(),
    message: new Set(),
    error: new Set(),
  };

  constructor(url: string) {
    this.url = url;
    this.#socket = new WebSocket(url);
    BrowserLikeWebSocket.open.add(this);
    this.#socket.on('open', () => this.#later('open', { type: 'open' }));
    this.#socket.on('message', (data: Buffer, isBinary: boolean) => {
      const payload = isBinary
        ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
        : data.toString('utf8');
      this.#later('message', { type: 'message', data: payload });
    });
    this.#socket.on('error', (error) => this.#later('error', { type: 'error', error }));
    this.#socket.on('close', (code: number, reason: Buffer) => {
      BrowserLikeWebSocket.open.delete(this);
      this.#later('close', {
        type: 'close',
        code,
        reason: reason.toString('utf8'),
        wasClean: code !== 1006,
      });
    });
  }

  get readyState(): number {
    return this.#socket.readyState;
  }

  send(data: string): void {
    this.#socket.send(data);
  }

  close(code?: number, reason?: string): void {
    this.#socket.close(code, reason);
  }

  addEventListener(type: EventType, listener: Listener): void {
    this.#listeners[type].add(listener);
  }

  removeEventListener(type: EventType, listener: Listener): void {
    this.#listeners[type].delete(listener);
  }

  /** Drops the connection at once. */
  terminate(): void {
    this.#socket.terminate();
  }

  #later(type: EventType, event: unknown): void {
    setImmediate(() => {
      for (const listener of [...this.#listeners[type]]) listener(event);
    });
  }

  /** The `webSocketFactory` to hand the vendor SDK. */
  static readonly factory = (url: string): WebSocketLike => new BrowserLikeWebSocket(url);
}
