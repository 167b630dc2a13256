#!/usr/bin/env node
// Runs the pinned pnpm through npm, so a machine with only Node and npm needs nothing else.
// Like pnpm itself it works on the current directory: from a package folder it acts on that
// package (`node ../../scripts/pnpm.mjs pack`); `--dir <folder>` names another one.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const { packageManager } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const version = packageManager.replace(/^pnpm@/, '');

function installed() {
  const probe = spawnSync('pnpm', ['--version'], { encoding: 'utf8', shell: false });
  return probe.status === 0 && probe.stdout.trim() === version;
}

const args = process.argv.slice(2);
const [command, commandArgs] = installed()
  ? ['pnpm', args]
  : ['npx', ['--yes', `pnpm@${version}`, ...args]];
const result = spawnSync(command, commandArgs, { stdio: 'inherit' });
if (result.error) {
  console.error(result.error.message);
  process.exit(1);
}
process.exit(result.status ?? 1);
