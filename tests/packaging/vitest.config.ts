import { packageTestConfig } from '@metered/tooling/vitest';

// Packs (once, in the global setup), installs and runs real projects: slow steps, each bounded
// by its own timeout.
export default packageTestConfig({
  globalSetup: ['test/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 600_000,
});
