#!/usr/bin/env node
// Package correctness for one public package, run from its folder (`pnpm check`, after `build`):
//   1. pack it with pnpm into a temporary folder, so `workspace:^` ranges are rewritten and the
//      tarball holds exactly what would be published;
//   2. publint --strict on the tarball (exports, files, types-first, ESM/CJS formats);
//   3. attw on the tarball (types resolve for node16 CJS and ESM, and bundlers; node10, which
//      cannot see subpath exports, is shown but not required);
//   4. scripts/api-report.mjs (API Extractor, non-local, every entry point): fails when the
//      public API differs from the committed <name>.api.md; `pnpm api:update` rewrites them.
// Exits non-zero, naming every step that failed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const packageDir = process.cwd();
const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
const label = manifest.name ?? packageDir;
const bin = (name) => join(root, 'node_modules', '.bin', name);

function fail(message) {
  console.error(`\ncheck-package: ${label}: ${message}`);
  process.exit(1);
}

if (manifest.private) fail('is private; only public packages are checked.');
if (!existsSync(join(packageDir, 'dist'))) fail('has no dist/ folder; run its build first.');

/** Runs a command with inherited output; returns true when it exited with 0. */
function step(title, command, args) {
  console.log(`\n▶ ${title}`);
  const result = spawnSync(command, args, { cwd: packageDir, stdio: 'inherit' });
  if (result.error) console.error(result.error.message);
  return result.status === 0;
}

const temp = mkdtempSync(join(tmpdir(), 'metered-check-'));
const failures = [];
try {
  const packed = step('pnpm pack', process.execPath, [
    join(root, 'scripts', 'pnpm.mjs'),
    '--dir',
    packageDir,
    'pack',
    '--pack-destination',
    temp,
  ]);
  const tarball = readdirSync(temp).find((file) => file.endsWith('.tgz'));
  if (!packed || tarball === undefined) fail('pnpm pack did not produce a tarball.');
  const tarballPath = join(temp, tarball);

  if (!step('publint --strict', bin('publint'), ['run', tarballPath, '--strict'])) {
    failures.push('publint found problems in the packed package (see above)');
  }
  if (
    !step('attw (node16 CJS/ESM, bundler)', bin('attw'), [
      tarballPath,
      '--profile',
      'node16',
      '--format',
      'table-flipped',
      '--no-emoji',
    ])
  ) {
    failures.push('attw found type resolution problems in the packed package (see above)');
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}

if (
  !step('api-report (API Extractor, every entry point)', process.execPath, [
    join(root, 'scripts', 'api-report.mjs'),
  ])
) {
  failures.push(
    'a public API report is out of date or API Extractor reported a problem; ' +
      'if the change is intended, run `pnpm api:update` in this package and commit the .api.md files',
  );
}

if (failures.length > 0) {
  console.error(`\ncheck-package: ${label} failed:`);
  for (const failure of failures) console.error(`  - ${failure}`);
  process.exit(1);
}
console.log(`\ncheck-package: ${label}: publint, attw and the API reports are clean.`);
