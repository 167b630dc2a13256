// One test preset: source condition (no build needed), node environment, no globals.
import { defineConfig } from 'vitest/config';

/** @param {import('vitest/config').UserConfig['test']} [test] */
export function packageTestConfig(test = {}) {
  return defineConfig({
    resolve: { conditions: ['@metered/source'] },
    ssr: { resolve: { conditions: ['@metered/source'] } },
    test: {
      environment: 'node',
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      restoreMocks: true,
      unstubGlobals: true,
      testTimeout: 20_000,
      ...test,
    },
  });
}
