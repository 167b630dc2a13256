import WebSocket from 'ws';
import type { WebSocketLike } from '@metered-ca/realtime';

type EventType = 'open' | 'close' | 'message' | 'error';
type Listener = (event: unknown) => void;

/**
 * A `ws` socket with browser event semantics, for driving the vendor SDK in Node: every event is
 * dispatched in its own macrotask (as a browser queues one task per message), text frames arrive
 * as strings, and `close` carries `code` / `reason`. Under plain `ws` all frames of one TCP read
 * are emitted synchronously, which a browser never does and the SDK does not expect.
 */
export class BrowserLikeWebSocket implements WebSocketLike {
  static readonly sockets = new Set<BrowserLikeWebSocket>();
  readonly url: string;
  private readonly socket: WebSocket;
  private readonly listeners: Record<EventType, Set<Listener>> = {
    open: new Set(),
    close: new Set(),
    message: new Set(),
    error: new Set(),
  };

  constructor(url: string) {
    this.url = url;
    this.socket = new WebSocket(url);
    BrowserLikeWebSocket.sockets.add(this);
    this.socket.on('open', () => this.dispatchLater('open', { type: 'open' }));
    this.socket.on('message', (data: Buffer, isBinary: boolean) => {
      const payload = isBinary
        ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
        : data.toString('utf8');
      this.dispatchLater('message', { type: 'message', data: payload });
    });
    this.socket.on('error', (error) => this.dispatchLater('error', { type: 'error', error }));
    this.socket.on('close', (code: number, reason: Buffer) => {
      BrowserLikeWebSocket.sockets.delete(this);
      this.dispatchLater('close', {
        type: 'close',
        code,
        reason: reason.toString('utf8'),
        wasClean: code !== 1006,
      });
    });
  }

  get readyState(): number {
    return this.socket.readyState;
  }

  send(data: string): void {
    this.socket.send(data);
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  addEventListener(type: EventType, listener: Listener): void {
    this.listeners[type].add(listener);
  }

  removeEventListener(type: EventType, listener: Listener): void {
    this.listeners[type].delete(listener);
  }

  /** Drops the connection at once (test cleanup). */
  terminate(): void {
    this.socket.terminate();
  }

  private dispatchLater(type: EventType, event: unknown): void {
    setImmediate(() => {
      for (const listener of [...this.listeners[type]]) listener(event);
    });
  }

  /** The factory to hand the SDK as `webSocketFactory`. */
  static readonly factory = (url: string): WebSocketLike => new BrowserLikeWebSocket(url);
}
