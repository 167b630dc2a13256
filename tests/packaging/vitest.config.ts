import { packageTestConfig } from '@metered/tooling/vitest';

// Packs, installs and runs real projects: slow steps, each bounded by its own timeout.
export default packageTestConfig({ testTimeout: 60_000, hookTimeout: 600_000 });
