import type { WebSocketLike } from '../websocket.js';

/** The events of a {@link BrowserLikeWebSocket}. */
export type BrowserLikeWebSocketEventType = 'open' | 'close' | 'message' | 'error';

/**
 * The part of a Node socket of the `ws` package (`import WebSocket from 'ws'`) that
 * {@link BrowserLikeWebSocket} uses; passed in, so that this package does not depend on `ws`.
 */
export interface NodeWebSocketLike {
  readonly readyState: number;
  // `never[]`: the listeners this wrapper registers take `ws`'s own argument types.
  on(event: string, listener: (...args: never[]) => void): unknown;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

/** The constructor of {@link NodeWebSocketLike}: `WebSocket` of the `ws` package. */
export type NodeWebSocketConstructor = new (url: string) => NodeWebSocketLike;

const decoder = new TextDecoder();

/**
 * A `ws` socket with a browser's event delivery, to run browser code (this SDK's clients, or any
 * SDK that takes a `webSocketFactory`) in Node under browser timing: every event is dispatched in
 * its own macrotask, as a browser queues one task per message, while `ws` emits every frame of
 * one TCP read synchronously. Text frames arrive as strings, binary ones as `ArrayBuffer`s, and
 * `close` carries `code`, `reason` and `wasClean`. Events reach both the `on…` handler properties
 * and `addEventListener` listeners.
 */
export class BrowserLikeWebSocket implements WebSocketLike {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  readonly url: string;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly #socket: NodeWebSocketLike;
  readonly #listeners: Record<BrowserLikeWebSocketEventType, Set<(event: unknown) => void>> = {
    open: new Set(),
    close: new Set(),
    message: new Set(),
    error: new Set(),
  };

  /** Opens `url` with `WebSocket`, the constructor of the `ws` package. */
  constructor(url: string, WebSocket: NodeWebSocketConstructor) {
    this.url = url;
    this.#socket = new WebSocket(url);
    this.#socket.on('open', () => this.#later('open', { type: 'open' }));
    this.#socket.on('message', (data: Uint8Array, isBinary: boolean) => {
      const payload = isBinary
        ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
        : decoder.decode(data);
      this.#later('message', { type: 'message', data: payload });
    });
    this.#socket.on('error', (error: unknown) => this.#later('error', { type: 'error', error }));
    this.#socket.on('close', (code: number, reason: Uint8Array) => {
      this.#later('close', {
        type: 'close',
        code,
        reason: decoder.decode(reason),
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

  addEventListener(type: BrowserLikeWebSocketEventType, listener: (event: unknown) => void): void {
    this.#listeners[type].add(listener);
  }

  removeEventListener(
    type: BrowserLikeWebSocketEventType,
    listener: (event: unknown) => void,
  ): void {
    this.#listeners[type].delete(listener);
  }

  /** Drops the connection at once, without a closing handshake (test cleanup). */
  terminate(): void {
    this.#socket.terminate();
  }

  #later(type: BrowserLikeWebSocketEventType, event: unknown): void {
    setImmediate(() => {
      (this[`on${type}`] as ((event: unknown) => void) | null)?.(event);
      for (const listener of [...this.#listeners[type]]) listener(event);
    });
  }
}

/** A `webSocketFactory` of {@link BrowserLikeWebSocket}s that keeps the sockets still open. */
export interface BrowserLikeWebSocketFactory {
  (url: string): BrowserLikeWebSocket;
  /** The sockets it created whose connection has not closed yet. */
  readonly open: ReadonlySet<BrowserLikeWebSocket>;
  /** Terminates every socket still open (test cleanup). */
  terminateAll(): void;
}

/**
 * Creates a {@link BrowserLikeWebSocketFactory} over `WebSocket`, the constructor of the `ws`
 * package: pass the result as `webSocketFactory`.
 */
export function createBrowserLikeWebSocketFactory(
  WebSocket: NodeWebSocketConstructor,
): BrowserLikeWebSocketFactory {
  const open = new Set<BrowserLikeWebSocket>();
  const factory = (url: string): BrowserLikeWebSocket => {
    const socket = new BrowserLikeWebSocket(url, WebSocket);
    open.add(socket);
    socket.addEventListener('close', () => open.delete(socket));
    return socket;
  };
  return Object.defineProperties(factory, {
    open: { value: open },
    terminateAll: {
      value: () => {
        for (const socket of open) socket.terminate();
      },
    },
  }) as BrowserLikeWebSocketFactory;
}
