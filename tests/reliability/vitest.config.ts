import { packageTestConfig } from '@metered/tooling/vitest';

// Long mode (RELIABILITY_LONG=1) runs for minutes; CI mode stays well under that per test.
const long = process.env.RELIABILITY_LONG === '1';

// Every suite runs twice: on the memory broker and on the Redis broker (`--project redis` runs
// one of them).
const brokers = ['memory', 'redis'] as const;

export default packageTestConfig({
  testTimeout: long ? 900_000 : 120_000,
  hookTimeout: 60_000,
  // One file at a time: the suites load the machine and measure server memory.
  fileParallelism: false,
  projects: brokers.map((broker) => ({
    extends: true,
    test: { name: broker, env: { RELIABILITY_BROKER: broker } },
  })),
});
