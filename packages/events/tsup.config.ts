import { packageConfig } from '@metered/tooling/tsup';

export default packageConfig();
