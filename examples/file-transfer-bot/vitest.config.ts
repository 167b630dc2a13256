import { packageTestConfig } from '@metered/tooling/vitest';

// Real peer connections: generous but bounded waits.
export default packageTestConfig({ testTimeout: 60_000, hookTimeout: 30_000 });
