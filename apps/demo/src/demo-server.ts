import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer, type StartServerOptions } from '@metered/server';
import { RestClient, RestRequestError } from './rest-client.js';

/** Options of {@link startDemo}. */
export interface DemoOptions {
  /** Address both listeners bind. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port of the demo page and its backend. Default 9300; 0 picks a free one. */
  readonly port?: number;
  /** Port of the realtime server. Default 9292; 0 picks a free one. */
  readonly serverPort?: number;
  /** Further options of the embedded server (hooks, a config); default: the embedded dev config. */
  readonly server?: StartServerOptions;
  /** Folder of the built page (`index.html`, `app.js`, `style.css`). Default: this package's `dist/web`. */
  readonly webRoot?: string;
}

export const DEMO_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 9300,
  serverPort: 9292,
});

export interface RunningDemo {
  /** The page: `http://host:port/`. */
  readonly url: string;
  readonly port: number;
  /** The realtime server the page connects to (a new one after {@link RunningDemo.restartServer}). */
  readonly server: RunningServer;
  /**
   * Stops the realtime server (its clients see it go away) and starts it again on the same port,
   * as a deploy would: the page's clients reconnect.
   */
  restartServer(): Promise<void>;
  /** Stops the page's listener and the server. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const STATIC_FILES: Readonly<Record<string, readonly [file: string, type: string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/app.js.map': ['app.js.map', 'application/json; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};

const MAX_BODY_BYTES = 4096;
const PEER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const COLOUR = /^#[0-9a-fA-F]{6}$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  response.end(text);
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body too large');
    chunks.push(chunk);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // Reported below.
  }
  throw new HttpError(400, 'expected a JSON object');
}

function peerIdOf(body: Record<string, unknown>): string {
  const { peerId } = body;
  if (typeof peerId !== 'string' || !PEER_ID.test(peerId)) {
    throw new HttpError(400, 'peerId: 1–64 letters, digits, "-" or "_"');
  }
  return peerId;
}

function displayName(value: unknown): string {
  const name = typeof value === 'string' ? value.trim().slice(0, 32) : '';
  return name || 'Guest';
}

/**
 * Starts the demo: the realtime server (embedded dev config) and, beside it, an HTTP listener for
 * the page and a tiny backend that mints tokens and kicks peers through the server's REST API
 * with the secret key, which never reaches the browser.
 */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const host = options.host ?? DEMO_DEFAULTS.host;
  const webRoot = options.webRoot ?? fileURLToPath(new URL('../dist/web/', import.meta.url));
  let server = await startServer({
    host,
    port: options.serverPort ?? DEMO_DEFAULTS.serverPort,
    ...options.server,
  });
  const serverPort = Number(new URL(server.url).port);
  const rest = new RestClient(server.url);

  const api = async (path: string, request: IncomingMessage): Promise<unknown> => {
    const body = await readJson(request);
    switch (path) {
      case '/api/token': {
        const colour =
          typeof body.colour === 'string' && COLOUR.test(body.colour) ? body.colour : '#4f46e5';
        const minted = await rest.mintToken({
          peerId: peerIdOf(body),
          peerMetadata: { name: displayName(body.name), colour },
        });
        return minted;
      }
      case '/api/kick':
        // The page's "Rejoin" mints a token for the same peer id at once: the kick only closes
        // the sockets, it does not keep the peer's tokens out.
        return { closed: await rest.kickPeer(peerIdOf(body), undefined, 0) };
      default:
        throw new HttpError(404, 'not found');
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = new URL(request.url ?? '/', 'http://demo').pathname;
    if (path.startsWith('/api/')) {
      if (request.method !== 'POST') throw new HttpError(405, 'use POST');
      return sendJson(response, 200, await api(path, request));
    }
    if (path === '/config.json') {
      return sendJson(response, 200, { serverUrl: server.url });
    }
    const entry = STATIC_FILES[path];
    if (!entry || (request.method !== 'GET' && request.method !== 'HEAD')) {
      throw new HttpError(404, 'not found');
    }
    const [file, type] = entry;
    let content: Buffer;
    try {
      content = await readFile(`${webRoot}/${file}`);
    } catch {
      throw new HttpError(
        500,
        `${file} is missing: build the demo first (pnpm --filter @metered/demo build)`,
      );
    }
    response.writeHead(200, {
      'content-type': type,
      'content-length': content.length,
      'cache-control': 'no-cache',
    });
    response.end(request.method === 'HEAD' ? undefined : content);
  };

  const http = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const status =
        error instanceof HttpError ? error.status : error instanceof RestRequestError ? 502 : 500;
      if (!response.headersSent) {
        sendJson(response, status, { error: (error as Error).message ?? String(error) });
      } else {
        response.destroy();
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? DEMO_DEFAULTS.port, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await server.close();
    throw error;
  }
  const { port } = http.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await Promise.all([stopped, server.close()]);
    })();
    return closing;
  };
  const restartServer = async (): Promise<void> => {
    await server.close();
    server = await startServer({ host, ...options.server, port: serverPort });
  };
  return {
    url,
    port,
    get server() {
      return server;
    },
    restartServer,
    close,
    [Symbol.asyncDispose]: close,
  };
}
