#!/usr/bin/env node
// Keeps the internal member lists (`packages/<name>/internal-members.json`) safe to shorten at
// build time: a listed name must be used by the package's own code, must not be part of any
// package's declarations (public API or `@internal` members of exported classes), must not be a
// member of a built-in (DOM or ECMAScript) type, must not be read by its string (`obj['name']`),
// and must be gone from the built JavaScript. Run after the build.
// Usage: node scripts/check-internal-members.mjs
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const packagesDir = join(root, 'packages');
const packages = readdirSync(packagesDir).filter((name) =>
  existsSync(join(packagesDir, name, 'package.json')),
);

function filesUnder(dir, accept) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && accept(entry.name))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name));
}

const read = (file) => readFileSync(file, 'utf8');
/** The identifiers of a declaration file, its comments left out. */
const words = (text) =>
  new Set(text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '').match(/[A-Za-z_$][\w$]*/g) ?? []);

// Every word of every built declaration file of the workspace.
const declared = new Set();
for (const name of packages) {
  for (const file of filesUnder(join(packagesDir, name, 'dist'), (f) => /\.d\.c?ts$/.test(f))) {
    for (const word of words(read(file))) declared.add(word);
  }
}

// Members of the built-in types TypeScript knows (DOM, WebWorker, ECMAScript).
const require = createRequire(join(packagesDir, 'peer', 'package.json'));
const tsLib = dirname(require.resolve('typescript/lib/lib.d.ts'));
const builtIns = new Set();
for (const file of filesUnder(tsLib, (f) => /^lib\..*\.d\.ts$/.test(f))) {
  for (const match of read(file).matchAll(/^\s*(?:readonly\s+)?([A-Za-z_$][\w$]*)\??\s*[(:<]/gm)) {
    builtIns.add(match[1]);
  }
}

let failures = 0;
const fail = (message) => {
  failures += 1;
  console.error(message);
};

for (const name of packages) {
  const listFile = join(packagesDir, name, 'internal-members.json');
  if (!existsSync(listFile)) continue;
  const { members } = JSON.parse(read(listFile));
  const sources = filesUnder(join(packagesDir, name, 'src'), (f) => /\.ts$/.test(f))
    .filter((file) => !/\.test\.ts$/.test(file))
    .map(read)
    .join('\n');
  const built = filesUnder(join(packagesDir, name, 'dist'), (f) => /\.c?js$/.test(f))
    .map(read)
    .join('\n');
  for (const member of members) {
    const where = `${name}/internal-members.json: "${member}"`;
    if (!/^[A-Za-z_$][\w$]*$/.test(member)) fail(`${where} is not an identifier`);
    else if (!new RegExp(`\\.${member}\\b|\\b${member}\\s*[(:]`).test(sources)) {
      fail(`${where} is not used by the package's source (remove it from the list)`);
    } else if (declared.has(member)) {
      fail(`${where} appears in a package's declarations (dist/*.d.ts): it is not internal`);
    } else if (builtIns.has(member)) {
      fail(`${where} is a member of a built-in type: shortening it would break calls to that type`);
    } else if (new RegExp(`['"\`]${member}['"\`]`).test(sources)) {
      fail(`${where} is used as a string: a lookup by that string would miss the shortened name`);
    } else if (new RegExp(`\\.${member}\\b`).test(built)) {
      fail(`${where} is still in the built JavaScript: rebuild the package`);
    }
  }
}

if (failures > 0) {
  console.error(`${failures} internal member name(s) not safe to shorten`);
  process.exit(1);
}
console.log('check-internal-members: every listed internal member is safe to shorten');
