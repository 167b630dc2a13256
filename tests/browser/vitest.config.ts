import { packageTestConfig } from '@metered/tooling/vitest';

// One browser at a time: the suite runs on small CI machines, and each file launches Chromium.
export default packageTestConfig({
  testTimeout: 120_000,
  hookTimeout: 120_000,
  fileParallelism: false,
});
