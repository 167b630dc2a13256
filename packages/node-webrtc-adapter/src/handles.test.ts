import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

describe('closing', () => {
  it('leaves nothing behind: a process that closed its peer connections exits by itself', async () => {
    // Bundled into the package's node_modules so the child resolves node-datachannel from there.
    const bundle = `${packageDir}node_modules/.handles-${randomUUID()}.mjs`;
    await build({
      entryPoints: [`${packageDir}test/handles-child.ts`],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['node-datachannel'],
      outfile: bundle,
      logLevel: 'silent',
    });
    try {
      const child = spawn(process.execPath, [bundle], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // A child kept alive by a leaked handle never exits: bounded, then killed and reported.
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.on('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
      );
      clearTimeout(timer);
      expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
      const { before, after } = JSON.parse(stdout.trim()) as { before: number; after: number };
      expect(after).toBeLessThanOrEqual(before);
    } finally {
      await rm(bundle, { force: true });
    }
  }, 60_000);
});
