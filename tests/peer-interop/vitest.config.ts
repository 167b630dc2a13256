import { packageTestConfig } from '@metered/tooling/vitest';

// Real sockets and real peer connections: one file at a time, generous but bounded waits.
export default packageTestConfig({
  testTimeout: 90_000,
  hookTimeout: 30_000,
  fileParallelism: false,
});
