import { packageConfig } from '@metered/tooling/tsup';

export default packageConfig({
  entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' },
});
