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

// The specifier is passed through a parameter so that bundlers leave the import alone: a browser
// bundle never includes `ws`, and Node resolves the optional peer dependency at run time.
const importModule = (specifier: string): Promise<{ WebSocket?: WebSocketConstructor }> =>
  import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);

/**
 * The runtime's socket: the global `WebSocket` (browsers, Deno, Node ≥ 22), else `ws` (the
 * optional peer dependency), loaded on first use so that browser bundles never contain it.
 */
export async function defaultWebSocketFactory(): Promise<WebSocketFactory> {
  const Socket =
    (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ??
    (await importModule('ws').catch(() => undefined))?.WebSocket;
  if (!Socket) throw new TypeError('no WebSocket: install `ws` or pass `webSocketFactory`');
  return (url) => new Socket(url);
}

/**
 * Detaches the client from a socket; when `code` is given, closes it and keeps a no-op error
 * handler until it has closed.
 */
export function releaseSocket(socket: WebSocketLike, code?: number, reason?: string): void {
  const forget = (): void => {
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
  };
  forget();
  if (code === undefined) return;
  socket.onclose = forget;
  socket.onerror = () => {};
  try {
    socket.close(code, reason);
  } catch {
    // Browsers only accept 1000 and 3000–4999 from a client (1009 is refused): close without one.
    try {
      socket.close();
    } catch {
      forget();
    }
  }
}
