#!/usr/bin/env node
// Public-API reports for every entry point of the package in the current folder, through
// API Extractor and the package's api-extractor.json (which extends tooling/api-extractor.base.json).
//   "."          → <unscopedPackageName>.api.md
//   "./testing"  → <unscopedPackageName>-testing.api.md   (one report per subpath export)
// Usage (from a package folder, after its build):
//   node ../../scripts/api-report.mjs           fails when a report differs from the committed one
//   node ../../scripts/api-report.mjs --local   rewrites the reports (`pnpm api:update`)
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const packageDir = process.cwd();
const local = process.argv.includes('--local');
const configPath = join(packageDir, 'api-extractor.json');
const packageJsonPath = join(packageDir, 'package.json');
const manifest = JSON.parse(readFileSync(packageJsonPath, 'utf8'));
const unscopedName = manifest.name.replace(/^@[^/]+\//, '');

if (!existsSync(configPath)) {
  console.error(`api-report: ${manifest.name} has no api-extractor.json`);
  process.exit(1);
}

/** The `.d.ts` an ESM importer of this export gets: `import.types`, else `types`. */
function typesOf(target) {
  if (typeof target === 'string') return target.endsWith('.d.ts') ? target : undefined;
  if (target === null || typeof target !== 'object') return undefined;
  if (typeof target.import === 'object' && target.import !== null) {
    const types = typesOf(target.import);
    if (types !== undefined) return types;
  }
  if (typeof target.types === 'string') return target.types;
  if (typeof target.default === 'object') return typesOf(target.default);
  return undefined;
}

/** [{ subpath, dts, reportName }] for "." and every subpath export that has declarations. */
function entryPoints() {
  const exportsField = manifest.exports;
  if (exportsField === undefined || typeof exportsField === 'string') {
    return [{ subpath: '.', dts: manifest.types ?? 'dist/index.d.ts', reportName: unscopedName }];
  }
  return Object.entries(exportsField)
    .filter(([subpath]) => subpath !== './package.json' && !subpath.includes('*'))
    .map(([subpath, target]) => ({
      subpath,
      dts: typesOf(target),
      reportName:
        subpath === '.'
          ? unscopedName
          : `${unscopedName}-${subpath.replace(/^\.\//, '').replaceAll('/', '-')}`,
    }))
    .filter((entry) => entry.dts !== undefined);
}

const failures = [];
for (const entry of entryPoints()) {
  const configObject = ExtractorConfig.loadFile(configPath);
  configObject.mainEntryPointFilePath = join(packageDir, entry.dts);
  configObject.apiReport = { ...configObject.apiReport, reportFileName: entry.reportName };
  const config = ExtractorConfig.prepare({
    configObject,
    configObjectFullPath: configPath,
    packageJsonFullPath: packageJsonPath,
  });
  console.log(`\napi-report: ${manifest.name}${entry.subpath.slice(1)} (${entry.dts})`);
  const result = Extractor.invoke(config, { localBuild: local, showVerboseMessages: false });
  if (result.succeeded) {
    console.log(`api-report: ${entry.reportName}.api.md ${local ? 'written' : 'is up to date'}`);
    continue;
  }
  failures.push(
    result.apiReportChanged && !local
      ? `${entry.reportName}.api.md is out of date for "${entry.subpath}"`
      : `API Extractor reported ${result.errorCount} error(s), ${result.warningCount} warning(s) for "${entry.subpath}"`,
  );
}
// API Extractor's scratch copies of the reports.
rmSync(join(packageDir, 'temp'), { recursive: true, force: true });

if (failures.length > 0) {
  console.error(`\napi-report: ${manifest.name}:`);
  for (const failure of failures) console.error(`  - ${failure}`);
  if (!local) {
    console.error(
      'If the API change is intended, run `pnpm api:update` in the package and commit the reports.',
    );
  }
  process.exit(1);
}
