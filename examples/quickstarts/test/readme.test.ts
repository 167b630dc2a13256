import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The root README shows each quickstart after a `<!-- quickstart: path -->` marker; the code
// block must be the file, byte for byte, so that what quickstarts.test.ts runs is what it shows.

const root = fileURLToPath(new URL('../../..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const shown = new Map(
  [...readme.matchAll(/<!-- quickstart: (\S+) -->\s*```\w*\n([\s\S]*?)\n```/g)].map(
    ([, path, code]) => [path!, code!],
  ),
);

const files = [
  ...readdirSync(join(root, 'examples/quickstarts/src')).map(
    (name) => `examples/quickstarts/src/${name}`,
  ),
  'examples/quickstarts/server.json',
  'examples/quickstarts/cluster.json',
];

describe('the README quickstarts', () => {
  it('shows every quickstart file and nothing else', () => {
    expect([...shown.keys()].sort()).toEqual([...files].sort());
  });

  it.each(files)('%s is shown exactly as it is', (path) => {
    expect(shown.get(path)).toBe(readFileSync(join(root, path), 'utf8').replace(/\n$/, ''));
  });
});
