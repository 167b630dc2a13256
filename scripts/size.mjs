#!/usr/bin/env node
// Bundle-size budgets: each entry of size-limits.json is bundled for the browser with esbuild
// from the built package (through its `exports`), minified, gzipped and compared with its limit.
// Usage: node scripts/size.mjs [--json]
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const entries = JSON.parse(readFileSync(`${root}/size-limits.json`, 'utf8'));

async function namesOf(packageName) {
  const module = await import(
    `${root}/packages/${packageName.replace('@metered/', '')}/dist/index.js`
  );
  return Object.keys(module);
}

/** Minified and gzipped size, in bytes, of a browser bundle importing `names` from `packageName`. */
export async function measure(packageName, names) {
  const list = names === '*' ? await namesOf(packageName) : names;
  const source = `export { ${list.join(', ')} } from '${packageName}';`;
  const result = await build({
    stdin: {
      contents: source,
      resolveDir: `${root}/packages/${packageName.replace('@metered/', '')}`,
    },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  return { minified: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength, code };
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  let failed = 0;
  const rows = [];
  for (const entry of entries) {
    const { minified, gzip } = await measure(entry.package, entry.import);
    const ok = gzip <= entry.limit;
    if (!ok) failed += 1;
    rows.push({ entry: entry.name, minified, gzip, limit: entry.limit, ok });
  }
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(rows, null, 2));
  } else {
    console.log('| entry | min (B) | min+gzip (B) | budget (B) |');
    console.log('|---|---:|---:|---:|');
    for (const row of rows) {
      console.log(
        `| ${row.entry} | ${row.minified} | ${row.gzip} | ${row.limit}${row.ok ? '' : ' OVER'} |`,
      );
    }
  }
  if (failed > 0) {
    console.error(`${failed} bundle(s) over budget`);
    process.exit(1);
  }
}
