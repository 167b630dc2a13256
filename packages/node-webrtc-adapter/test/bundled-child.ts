import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** How a child process ended and what it wrote. */
export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Bundles `entry` (a file of `test/`) and runs it in a Node child process with `args`, so that
 * what ends a process (a native abort, a leaked handle) ends only the child. The child is killed
 * after `timeoutMs`; the outcome then shows `SIGKILL`.
 */
export async function runBundledChild(
  entry: string,
  args: readonly string[] = [],
  timeoutMs = 30_000,
): Promise<ChildOutcome> {
  // Bundled into the package's node_modules so the child resolves node-datachannel from there.
  const bundle = `${packageDir}node_modules/.child-${randomUUID()}.mjs`;
  await build({
    entryPoints: [`${packageDir}test/${entry}`],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['node-datachannel'],
    outfile: bundle,
    logLevel: 'silent',
  });
  try {
    const child = spawn(process.execPath, [bundle, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
    );
    clearTimeout(timer);
    return { code, signal, stdout, stderr };
  } finally {
    await rm(bundle, { force: true });
  }
}
