import { packageTestConfig } from '@metered/tooling/vitest';

// Each quickstart runs as its own Node process against a server on port 0.
export default packageTestConfig({
  testTimeout: 60_000,
  hookTimeout: 30_000,
  fileParallelism: false,
});
