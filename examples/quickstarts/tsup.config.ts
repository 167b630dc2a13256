import { defineConfig } from 'tsup';

// Each quickstart becomes a Node program of its own (ESM, packages left external).
export default defineConfig({
  entry: ['src/pubsub.ts', 'src/room-browser.ts', 'src/room-node.ts'],
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  clean: true,
  sourcemap: true,
  splitting: false,
});
