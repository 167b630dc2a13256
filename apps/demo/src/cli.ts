#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { DEMO_DEFAULTS, startDemo } from './demo-server.js';
import { RestClient } from './rest-client.js';

const USAGE = `usage: metered-demo [serve] [--port N] [--server-port N] [--host H]
       metered-demo token <peerId> [--server URL] [--name NAME]
       metered-demo bot <room> [--server URL] [--name NAME]

  serve   start the realtime server (embedded dev config) and the demo page (default)
  token   mint a token for <peerId> through a running server's REST API
  bot     join <room> as a Node peer: answer chat, receive files over WebRTC data channels`;

const EXIT_USAGE = 2;

function fail(message: string, code = EXIT_USAGE): never {
  process.stderr.write(`metered-demo: ${message}\n`);
  process.exit(code);
}

function portOf(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) fail(`invalid ${flag} "${value}"`);
  return port;
}

async function serve(values: Record<string, string | boolean | undefined>): Promise<void> {
  const demo = await startDemo({
    host: (values.host as string | undefined) ?? DEMO_DEFAULTS.host,
    port: portOf(values.port as string | undefined, DEMO_DEFAULTS.port, '--port'),
    serverPort: portOf(
      values['server-port'] as string | undefined,
      DEMO_DEFAULTS.serverPort,
      '--server-port',
    ),
  });
  process.stdout.write(`Demo: ${demo.url}\n`);
  process.stderr.write(
    `(realtime server on ${demo.server.url}; open the page in two tabs; Ctrl-C stops)\n`,
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    demo.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function token(positionals: string[], values: Record<string, unknown>): Promise<void> {
  const [peerId] = positionals;
  if (!peerId) fail(`token needs a peer id\n${USAGE}`);
  const serverUrl =
    (values.server as string | undefined) ?? `ws://127.0.0.1:${DEMO_DEFAULTS.serverPort}`;
  const name = (values.name as string | undefined) ?? peerId;
  const minted = await new RestClient(serverUrl).mintToken({
    peerId,
    peerMetadata: { name, colour: '#0d9488' },
  });
  process.stdout.write(`${minted.token}\n`);
}

async function bot(positionals: string[], values: Record<string, unknown>): Promise<void> {
  const [room] = positionals;
  if (!room) fail(`bot needs a room\n${USAGE}`);
  // Loaded on demand: only the bot needs WebRTC (node-datachannel).
  const { startBot } = (await import(
    new URL('./bot.js', import.meta.url).href
  )) as typeof import('./bot.js');
  const running = await startBot({
    room,
    serverUrl:
      (values.server as string | undefined) ?? `ws://127.0.0.1:${DEMO_DEFAULTS.serverPort}`,
    name: (values.name as string | undefined) ?? 'Bot',
  });
  const stop = (): void => {
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function main(): Promise<void> {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      options: {
        port: { type: 'string', short: 'p' },
        'server-port': { type: 'string' },
        host: { type: 'string' },
        server: { type: 'string', short: 's' },
        name: { type: 'string', short: 'n' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [command = 'serve', ...rest] = positionals;
  switch (command) {
    case 'serve':
      return serve(values);
    case 'token':
      return token(rest, values);
    case 'bot':
      return bot(rest, values);
    default:
      fail(`unknown command "${command}"\n${USAGE}`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`metered-demo: ${(error as Error).message ?? String(error)}\n`);
  process.exit(1);
});
