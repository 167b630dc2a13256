import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { describeRun, root, run } from './process.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The folder `npm run pack` wrote the tarballs to, once for every test file. */
    packs: string;
  }
}

const PACK_TIMEOUT_MS = 300_000;

/**
 * Packs every public package once, with the script behind `npm run pack` (the build is done:
 * turbo builds the packages before this test), into a temporary `packs/`.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const temp = mkdtempSync(join(tmpdir(), 'metered-packs-'));
  const packs = join(temp, 'packs');
  const result = await run(
    process.execPath,
    [join(root, 'scripts', 'pack.mjs'), '--no-build', '--out', packs],
    { cwd: root, timeoutMs: PACK_TIMEOUT_MS },
  );
  if (result.code !== 0 || readdirSync(packs).length === 0) {
    throw new Error(describeRun('node scripts/pack.mjs', result));
  }
  project.provide('packs', packs);
  return () => rmSync(temp, { recursive: true, force: true });
}
