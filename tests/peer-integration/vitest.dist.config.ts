import { defineConfig } from 'vitest/config';

// The same suite on the built packages, as users get them (`dist/`, with internal member names
// shortened): no `@metered/source` condition. Run after `turbo run build`.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
    restoreMocks: true,
    unstubGlobals: true,
    testTimeout: 90_000,
    hookTimeout: 30_000,
    fileParallelism: false,
  },
});
