import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import type * as CallPage from './page/call-page.js';

// A page that runs our SDK directly (no demo UI): page/call-page.ts bundled with @metered/peer
// from its sources, served from 127.0.0.1 (a secure context, so the fake camera is allowed).

declare global {
  interface Window {
    callPage: typeof CallPage;
  }
}

const ENTRY = fileURLToPath(new URL('./page/call-page.ts', import.meta.url));

/** Bundles the page script once. */
async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'callPage',
    platform: 'browser',
    conditions: ['@metered/source'],
    target: 'es2022',
    logLevel: 'warning',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild produced no output');
  return output.text;
}

export interface SdkPageHost {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves an empty page and the bundled script (`/call-page.js`) on 127.0.0.1. */
export async function startSdkPageHost(): Promise<SdkPageHost> {
  const script = await bundle();
  const server: Server = createServer((request, response) => {
    if (request.url === '/call-page.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      response.end(script);
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>call</title><script src="/call-page.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Opens the SDK page in a fresh context; `mintToken` answers the page's token provider. */
export async function openSdkPage(
  browser: Browser,
  host: SdkPageHost,
  mintToken: () => Promise<string>,
): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[sdk page] page error: ${error.message}`));
  await page.exposeFunction('mintToken', mintToken);
  await page.goto(host.url);
  await page.waitForFunction(() => typeof window.callPage?.join === 'function');
  return page;
}
