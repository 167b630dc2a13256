import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const builtCli = join(packageRoot, 'dist', 'cli.js');

function newestSource(directory: string): number {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The CLI to spawn: `dist/cli.js` when it is newer than the sources (CI builds before testing),
 * else a JavaScript-only build of the sources (no declarations, so it is quick) made under the
 * package's `node_modules/.cache/<cacheName>`, leaving dist alone. Each suite names its own cache
 * so that suites running at once do not build into one folder.
 */
export function cliToRun(cacheName: string): string {
  let built = 0;
  try {
    built = statSync(builtCli).mtimeMs;
  } catch {
    built = 0;
  }
  if (built > newestSource(join(packageRoot, 'src'))) return builtCli;
  const outDirectory = join(packageRoot, 'node_modules', '.cache', cacheName);
  const result = spawnSync(
    'npx',
    [
      'tsup',
      'src/cli.ts',
      '--no-config',
      '--format',
      'esm',
      '--platform',
      'node',
      '--target',
      'node20',
      '--out-dir',
      outDirectory,
    ],
    { cwd: packageRoot, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`build failed: ${result.stderr}${result.stdout}`);
  return join(outDirectory, 'cli.js');
}
