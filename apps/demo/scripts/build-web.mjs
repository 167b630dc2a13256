#!/usr/bin/env node
// Bundles the demo page for the browser: src/web/main.ts → dist/web/app.js, plus the static files.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/web`;
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [`${root}src/web/main.ts`],
  outfile: `${out}/app.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // Bundle the sibling packages from their sources: the page needs no prior build of them.
  conditions: ['@metered/source'],
  target: 'es2022',
  sourcemap: true,
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
for (const file of ['index.html', 'style.css']) {
  copyFileSync(`${root}src/web/${file}`, `${out}/${file}`);
}
