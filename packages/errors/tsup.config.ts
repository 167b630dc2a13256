import { packageConfig } from '@metered/tooling/tsup';

export default packageConfig({
  entry: { index: 'src/index.ts', reference: 'src/reference.ts' },
});
