// One build recipe for every public package: ESM + CJS, declarations for both, no bundled siblings.
import { existsSync, readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

/**
 * The package's internal member names (`internal-members.json` beside its package.json, if any):
 * properties and methods its modules use only among themselves, which the build shortens the way a
 * minifier shortens `#private` names. `node scripts/check-internal-members.mjs` keeps the list safe.
 */
function internalMembers() {
  const file = `${process.cwd()}/internal-members.json`;
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).members : [];
}

/**
 * @param {{ entry?: Record<string, string>, platform?: 'neutral' | 'node' | 'browser', external?: string[] }} [options]
 */
export function packageConfig(options = {}) {
  const members = internalMembers();
  return defineConfig({
    entry: options.entry ?? { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    platform: options.platform ?? 'neutral',
    target: 'es2022',
    // Members marked `@internal` stay out of the declarations where the build shortens names.
    dts: members.length > 0 ? { compilerOptions: { stripInternal: true } } : true,
    sourcemap: true,
    clean: true,
    treeshake: true,
    splitting: false,
    external: options.external ?? [],
    esbuildOptions(esbuild) {
      if (members.length > 0) esbuild.mangleProps = new RegExp(`^(?:${members.join('|')})$`);
    },
    outExtension({ format }) {
      return { js: format === 'cjs' ? '.cjs' : '.js' };
    },
  });
}
