import { packageConfig } from '@metered/tooling/tsup';

// ESM only, for Node: the library entry and the CLI (its hashbang makes the file executable).
export default {
  ...packageConfig({
    entry: { index: 'src/index.ts', cli: 'src/cli.ts' },
    platform: 'node',
  }),
  format: ['esm'],
  target: 'node20',
};
