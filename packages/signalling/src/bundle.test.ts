import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

async function bundle(platform: 'browser' | 'node') {
  const result = await build({
    stdin: {
      contents: "export { SignallingClient } from './src/index.ts';",
      resolveDir: packageDir,
    },
    bundle: true,
    minify: true,
    format: 'esm',
    platform,
    target: 'es2022',
    conditions: ['@metered/source'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return {
    code: result.outputFiles[0]!.text,
    inputs: Object.keys(result.metafile.inputs),
  };
}

describe('browser bundle', () => {
  it('contains no ws code and no static reference to it', async () => {
    const { code, inputs } = await bundle('browser');
    expect(inputs.filter((input) => /(^|\/)ws\//.test(input))).toEqual([]);
    expect(code).not.toMatch(/(import\(|require\(|from ?)["']ws["']/);
    expect(code).not.toContain('ws does not work in the browser');
    expect(code).toContain('SignallingClient');
  });

  it('keeps ws out of a Node bundle as well: it is loaded at run time', async () => {
    const { inputs } = await bundle('node');
    expect(inputs.filter((input) => /(^|\/)ws\//.test(input))).toEqual([]);
  });
});
