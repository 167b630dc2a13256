import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A throwaway `redis-server` on 127.0.0.1, without persistence. */
export interface RedisProcess {
  readonly url: string;
  /** Stops the server and resolves once it exited. Idempotent. */
  stop(): Promise<void>;
}

function findRedisServer(): string {
  const found = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin']
    .filter((directory) => directory !== '')
    .map((directory) => join(directory, 'redis-server'))
    .find((path) => existsSync(path));
  if (!found) {
    throw new Error(
      'redis-server is not installed: the multi-node quickstart needs it (Debian: apt-get install -y redis-server)',
    );
  }
  return found;
}

export function startRedis(port: number): Promise<RedisProcess> {
  const child = spawn(
    findRedisServer(),
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exit = once(child, 'exit');
    child.kill('SIGKILL');
    await exit;
  };
  return new Promise((resolve, reject) => {
    let output = '';
    const fail = (error: Error): void => {
      clearTimeout(timer);
      void stop().then(() => reject(error));
    };
    const timer = setTimeout(
      () => fail(new Error(`redis-server did not start within 15 s:\n${output}`)),
      15_000,
    );
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve({ url: `redis://127.0.0.1:${port}`, stop });
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`redis-server exited with ${code}:\n${output}`)));
  });
}
