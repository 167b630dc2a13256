// Our server's CLI in a process of its own: what the benches that kill and restart nodes start
// (a throwaway Redis beside it comes from apps/server/bench/redis.mjs).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { spawnChild, withTimeout } from './common.mjs';

const require = createRequire(import.meta.url);

/** The CLI to run: METERED_SERVER_MODULE (a build's dist/index.js) names another build's. */
export const SERVER_CLI = process.env.METERED_SERVER_MODULE
  ? join(dirname(process.env.METERED_SERVER_MODULE), 'cli.js')
  : join(dirname(require.resolve('@metered/server/package.json')), 'dist', 'cli.js');

/** Resolves once `child`'s stdout printed `text`; rejects if it exits first or after `timeoutMs`. */
export function printed(child, text, timeoutMs, what) {
  return withTimeout(
    new Promise((resolve, reject) => {
      let output = '';
      child.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
      child.stdout.on('data', function onData(chunk) {
        output += chunk;
        if (output.includes(text)) {
          child.stdout.off('data', onData);
          child.stdout.resume();
          resolve();
        }
      });
    }),
    timeoutMs,
    what,
  );
}

/** Starts the CLI on `port` with the config file at `configPath`; resolves to the child once it listens. */
export async function startServerCli(configPath, port) {
  const child = spawnChild(
    process.execPath,
    [SERVER_CLI, '--config', configPath, '--port', String(port)],
    { env: { ...process.env, METERED_LOG_LEVEL: 'error' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await printed(child, 'listening on ws://', 15_000, 'server start');
  return child;
}
