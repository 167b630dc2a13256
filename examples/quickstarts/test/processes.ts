import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A child process whose output is kept line by line. */
export interface RunningProcess {
  readonly child: ChildProcess;
  /** Every line written to stdout so far. */
  readonly lines: string[];
  /** Resolves with the first stdout line matching `pattern`; rejects after `timeoutMs` or on exit. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Settles as `promise` does, or rejects (with the output) if the process ends first. */
  until<T>(promise: Promise<T>): Promise<T>;
  /** SIGTERM, then SIGKILL after 5 s; resolves with the exit code (null when killed). */
  stop(): Promise<number | null>;
}

export function run(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): RunningProcess {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let pending = '';
  const listeners = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    lines.push(...parts);
    for (const listener of listeners) listener();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let closed = false;
  child.once('close', () => {
    closed = true;
    for (const listener of listeners) listener();
  });

  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;

  return {
    child,
    lines,
    waitForLine(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const line = lines.find((candidate) => pattern.test(candidate));
          if (line !== undefined) {
            done();
            resolve(line);
            return true;
          }
          if (closed) {
            done();
            reject(
              new Error(
                `process exited before printing ${String(pattern)}:\n${lines.join('\n')}\n${stderr}`,
              ),
            );
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `no line matching ${String(pattern)} within ${timeoutMs} ms:\n${lines.join('\n')}\n${stderr}`,
            ),
          );
        }, timeoutMs);
        const listener = (): void => void check();
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(listener);
        };
        listeners.add(listener);
        check();
      });
    },
    until(promise) {
      return new Promise((resolve, reject) => {
        const listener = (): void => {
          if (!closed) return;
          listeners.delete(listener);
          reject(new Error(`process ended (${child.exitCode}):\n${lines.join('\n')}\n${stderr}`));
        };
        listeners.add(listener);
        listener();
        promise.then(
          (value) => {
            listeners.delete(listener);
            resolve(value);
          },
          (error: unknown) => {
            listeners.delete(listener);
            reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
      });
    },
    async stop() {
      if (!exited()) {
        const exit = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exit;
        clearTimeout(timer);
      }
      return child.exitCode;
    },
  };
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
