import { spawn } from 'node:child_process';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = fileURLToPath(new URL('../../..', import.meta.url));

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd: string;
  /** Killed (SIGKILL) after this many milliseconds. */
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs a command to its end, collecting its output; never outlives `timeoutMs`. */
export function run(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Describes a finished command for an assertion message. */
export function describeRun(title: string, result: RunResult): string {
  return `${title} exited with ${result.code ?? result.signal}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/**
 * How to run the workspace's pnpm: the running pnpm itself when this test was started by it
 * (`npm_execpath`), else the repository's pinned launcher.
 */
export function pnpmCommand(): readonly [string, ...string[]] {
  const execPath = process.env.npm_execpath;
  if (execPath !== undefined && /^pnpm\.[cm]?js$/.test(basename(execPath))) {
    return [process.execPath, execPath];
  }
  // The standalone pnpm executable.
  if (execPath !== undefined && /^pnpm(\.exe)?$/.test(basename(execPath))) return [execPath];
  return [process.execPath, join(root, 'scripts', 'pnpm.mjs')];
}

/**
 * The environment for npm in the throwaway projects: this process's, without the `npm_*` and
 * `pnpm_*` variables a package manager sets for its scripts (they would configure npm as if it
 * ran inside the workspace), keeping only a cache and registry the caller chose.
 */
export function npmEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(npm|pnpm)_/i.test(name) && !/^npm_config_(cache|registry)$/i.test(name)) continue;
    env[name] = value;
  }
  return env;
}

/** A long-running command whose stdout is kept line by line. */
export interface Started {
  /** Resolves with the first stdout line matching `pattern`; rejects on exit or after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** SIGTERM (SIGKILL after 5 s); resolves once it exited. */
  stop(): Promise<void>;
}

/** Starts a command that keeps running (a server, a quickstart waiting for others). */
export function start(command: string, args: readonly string[], options: RunOptions): Started {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: options.timeoutMs,
    killSignal: 'SIGKILL',
  });
  let stdout = '';
  let stderr = '';
  let exited = false;
  const waiters = new Set<() => void>();
  const notify = (): void => waiters.forEach((waiter) => waiter());
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.once('exit', () => {
    exited = true;
    notify();
  });
  const title = [command, ...args].join(' ');
  return {
    waitForLine(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const finish = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        const check = (): void => {
          const line = stdout.split('\n').find((candidate) => pattern.test(candidate));
          if (line !== undefined) {
            finish();
            resolve(line);
          } else if (exited) {
            finish();
            reject(
              new Error(
                `${title} exited before printing ${String(pattern)}:\n${stdout}\n${stderr}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(
            new Error(
              `${title}: no line matching ${String(pattern)} within ${timeoutMs} ms:\n${stdout}\n${stderr}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (exited) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await done;
      clearTimeout(timer);
    },
  };
}
