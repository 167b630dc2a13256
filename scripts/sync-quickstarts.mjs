#!/usr/bin/env node
// Copies each quickstart file into the root README, after its `<!-- quickstart: path -->`
// marker (examples/quickstarts/test/readme.test.ts fails when the two differ).
//   node scripts/sync-quickstarts.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const readmePath = join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const synced = readme.replace(
  /(<!-- quickstart: (\S+) -->\s*```\w*\n)[\s\S]*?\n(```)/g,
  (_match, head, path, fence) =>
    `${head}${readFileSync(join(root, path), 'utf8').replace(/\n$/, '')}\n${fence}`,
);
if (synced !== readme) writeFileSync(readmePath, synced);
console.log(synced === readme ? 'README.md already shows every quickstart' : 'README.md updated');
