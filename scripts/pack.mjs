#!/usr/bin/env node
// `npm run pack`: builds every public package and writes one installable tarball per package
// into packs/ (ignored by git). pnpm packs them, so `workspace:^` ranges become real version
// ranges and `publishConfig` applies: each tarball is what `changeset publish` would publish.
//
//   node scripts/pack.mjs [--out DIR] [--no-build]
//
// Install them into any project together (they depend on each other):
//   npm install /path/to/this/checkout/packs/*.tgz
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: { out: { type: 'string' }, 'no-build': { type: 'boolean' } },
});
const out = resolve(values.out ?? join(root, 'packs'));

/** The public workspace packages: `packages/*` and the published apps. */
function publicPackages() {
  return ['packages', 'apps'].flatMap((folder) =>
    readdirSync(join(root, folder), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(root, folder, entry.name))
      .flatMap((directory) => {
        let manifest;
        try {
          manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8'));
        } catch {
          return [];
        }
        return manifest.private === true ? [] : [{ directory, name: manifest.name }];
      }),
  );
}

/** Runs pnpm at the root; its output is shown only when it fails. */
function pnpm(args) {
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'pnpm.mjs'), ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (result.status !== 0) {
    process.stdout.write(result.stdout ?? '');
    process.stderr.write(result.stderr ?? '');
    console.error(`pack: \`pnpm ${args.join(' ')}\` failed`);
    process.exit(result.status ?? 1);
  }
}

const packages = publicPackages();
if (!values['no-build']) {
  pnpm([
    'exec',
    'turbo',
    'run',
    'build',
    ...packages.map(({ name }) => `--filter=${name}`),
    '--output-logs=errors-only',
  ]);
}
mkdirSync(out, { recursive: true });
// Old tarballs of these packages (another version) would be installed by `packs/*.tgz` too.
for (const file of readdirSync(out)) {
  if (file.startsWith('metered-') && file.endsWith('.tgz')) rmSync(join(out, file));
}
for (const { directory, name } of packages) {
  console.log(`packing ${name}`);
  pnpm(['--dir', directory, 'pack', '--pack-destination', out]);
}
const written = readdirSync(out).filter((file) => file.endsWith('.tgz'));
console.log(`\n${written.length} tarballs in ${relative(process.cwd(), out) || '.'}:`);
for (const file of written.sort()) console.log(`  ${file}`);
console.log(`\nIn your project: npm install ${join(out, '*.tgz')}`);
