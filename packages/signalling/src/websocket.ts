import { loadNodeWebSocket } from './node-websocket.js';

// A method signature keeps handler parameters bivariant, so the browser's `WebSocket` and `ws`
// (whose handlers take richer event types) are both assignable to `WebSocketLike`.
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/**
 * The part of the WebSocket API the client uses: the browser's `WebSocket`, `ws`'s, or a fake.
 * The client only assigns the `on…` handler properties and sets them back to `null` when done.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ readonly data: unknown }> | null;
  onclose: Handler<{ readonly code: number; readonly reason: string }> | null;
  onerror: Handler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Opens a socket to a full URL (`wss://…/v1?key=…`). */
export type WebSocketFactory = (url: string) => WebSocketLike;

type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * The runtime's socket: the global `WebSocket` (browsers, Deno, Node ≥ 22), else `ws`, loaded on
 * first use so that browser bundles never contain it.
 */
export async function defaultWebSocketFactory(): Promise<WebSocketFactory> {
  let Socket = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Socket) {
    Socket = await loadNodeWebSocket();
  }
  const Constructor = Socket;
  return (url) => new Constructor(url);
}
