type WebSocketConstructor = new (url: string) => never;

// The specifier is passed through a parameter so that bundlers leave the import alone: a browser
// bundle never includes `ws`, and Node resolves the optional peer dependency at run time.
function importModule(specifier: string): Promise<unknown> {
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);
}

/** Loads `ws`, the optional peer dependency used on Node versions without a global `WebSocket`. */
export async function loadNodeWebSocket(): Promise<WebSocketConstructor> {
  try {
    const module = (await importModule('ws')) as {
      WebSocket?: WebSocketConstructor;
      default?: WebSocketConstructor;
    };
    const Socket = module.WebSocket ?? module.default;
    if (Socket) return Socket;
  } catch {
    // Reported below.
  }
  throw new TypeError('no WebSocket: install `ws` or pass `webSocketFactory`');
}
