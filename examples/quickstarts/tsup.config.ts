import { defineConfig } from 'tsup';

// The browser quickstart (TypeScript, for a bundler) becomes a program the tests run in Node
// with stand-ins for the page (ESM, packages left external). The Node quickstarts are `.mjs`
// files that run as they are.
export default defineConfig({
  entry: ['src/room-browser.ts'],
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  clean: true,
  sourcemap: true,
  splitting: false,
});
