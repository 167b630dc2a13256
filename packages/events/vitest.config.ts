import { packageTestConfig } from '@metered/tooling/vitest';

export default packageTestConfig();
