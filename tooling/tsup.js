// One build recipe for every public package: ESM + CJS, declarations for both, no bundled siblings.
import { defineConfig } from 'tsup';

/**
 * @param {{ entry?: Record<string, string>, platform?: 'neutral' | 'node' | 'browser', external?: string[] }} [options]
 */
export function packageConfig(options = {}) {
  return defineConfig({
    entry: options.entry ?? { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    platform: options.platform ?? 'neutral',
    target: 'es2022',
    dts: true,
    sourcemap: true,
    clean: true,
    treeshake: true,
    splitting: false,
    external: options.external ?? [],
    outExtension({ format }) {
      return { js: format === 'cjs' ? '.cjs' : '.js' };
    },
  });
}
