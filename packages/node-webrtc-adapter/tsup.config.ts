import { packageConfig } from '@metered/tooling/tsup';

export default packageConfig({ platform: 'node', external: ['node-datachannel'] });
