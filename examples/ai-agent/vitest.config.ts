import { packageTestConfig } from '@metered/tooling/vitest';

export default packageTestConfig({ testTimeout: 30_000, hookTimeout: 30_000 });
