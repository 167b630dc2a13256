// Packaging smoke test: the tarballs `npm run pack` writes (pnpm packs them, rewriting
// `workspace:` ranges and applying `publishConfig`; see global-setup.ts) hold what they should;
// installed with npm into two throwaway projects (plain Node ESM, an esbuild browser bundle),
// every entry point imports, and the `metered-server` bin of the installed server starts.
// fresh-project.test.ts does what the README tells a newcomer to do.
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  BROWSER_ENTRIES,
  BROWSER_PACKAGES,
  BUNDLE_SOURCE,
  ESM_SOURCE,
  EXPECTED,
  NODE_ENTRIES,
  PUBLIC_PACKAGES,
} from './consumers.js';
import { describeRun, npmEnvironment, root, run } from './process.js';
import { readTarball } from './tarball.js';

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly exports: Record<string, unknown>;
  readonly publishConfig?: { readonly access?: string; readonly exports?: unknown };
  readonly bin?: Record<string, string>;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly [field: string]: unknown;
}

interface Packed {
  readonly directory: string;
  readonly workspace: Manifest;
  readonly tarball: string;
  readonly files: Map<string, Buffer>;
  readonly manifest: Manifest;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** Every public workspace package: `packages/*` and the published apps. */
function publicPackageDirectories(): string[] {
  return ['packages', 'apps']
    .flatMap((folder) =>
      readdirSync(join(root, folder), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => join(root, folder, entry.name)),
    )
    .filter((directory) => {
      try {
        return readJson<Manifest>(join(directory, 'package.json')).private !== true;
      } catch {
        return false;
      }
    });
}

/** The exports map without the workspace-only `@metered/source` condition. */
function withoutSourceCondition(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== '@metered/source')
      .map(([key, inner]) => [key, withoutSourceCondition(inner)]),
  );
}

/** Every file path an exports map points to. */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null) return [];
  return Object.values(value).flatMap(exportTargets);
}

/** A file a user of the package needs: its build, its commands, readme, licence and manifest. */
function isShippable(name: string, path: string): boolean {
  if (path === 'package.json' || path === 'README.md' || path === 'LICENSE') return true;
  // A command's launcher: a committed file, so that it exists before `dist/` is built.
  if (/^bin\/[\w-]+\.js$/.test(path)) return true;
  // The protocol's test vectors are a public entry point (`./test-vectors/*.json`).
  if (name === '@metered/protocol' && /^test-vectors\/[\w-]+\.json$/.test(path)) return true;
  return /^dist\/[\w.-]+\.(js|cjs|d\.ts|d\.cts|js\.map|cjs\.map)$/.test(path);
}

/**
 * Packages published without a README for now. A package listed here that gains one fails the
 * test below, so the list only shrinks.
 */

const INSTALL_TIMEOUT_MS = 240_000;
const RUN_TIMEOUT_MS = 30_000;

let temp = '';
const packed = new Map<string, Packed>();

beforeAll(() => {
  temp = mkdtempSync(join(tmpdir(), 'metered-packaging-'));
  const tarballs = inject('packs');
  // One tarball per public package, named by pnpm after the package and its version.
  expect(readdirSync(tarballs).sort()).toEqual(
    publicPackageDirectories()
      .map((directory) => {
        const { name, version } = readJson<Manifest>(join(directory, 'package.json'));
        return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
      })
      .sort(),
  );
  for (const directory of publicPackageDirectories()) {
    const workspace = readJson<Manifest>(join(directory, 'package.json'));
    const fileName = `${workspace.name.replace(/^@/, '').replace('/', '-')}-${workspace.version}.tgz`;
    const tarball = join(tarballs, fileName);
    const files = readTarball(tarball);
    const manifestFile = files.get('package.json');
    expect(manifestFile, `${fileName} has a package.json`).toBeDefined();
    const manifest = JSON.parse(manifestFile?.toString('utf8') ?? '{}') as Manifest;
    packed.set(workspace.name, { directory, workspace, tarball, files, manifest });
  }
});

afterAll(() => {
  if (temp !== '') rmSync(temp, { recursive: true, force: true });
});

describe('the packed tarballs', () => {
  it('cover exactly the public packages the consumers import', () => {
    expect([...packed.keys()].sort()).toEqual([...PUBLIC_PACKAGES].sort());
  });

  it('hold only dist/, bin/, README.md, LICENSE and package.json (and the protocol test vectors)', () => {
    for (const { manifest, files } of packed.values()) {
      const paths = [...files.keys()];
      expect(
        paths.filter((path) => !isShippable(manifest.name, path)),
        `${manifest.name}: files users do not need`,
      ).toEqual([]);
      expect(paths, manifest.name).toContain('LICENSE');
      expect(paths.some((path) => path.startsWith('dist/'))).toBe(true);
      expect(paths, `${manifest.name}: README.md`).toContain('README.md');
    }
  });

  it('point every export, main, module, types and bin at a file in the tarball', () => {
    for (const { manifest, files } of packed.values()) {
      const targets = [
        ...exportTargets(manifest.exports),
        ...exportTargets(manifest.bin ?? {}),
        ...['main', 'module', 'types']
          .map((field) => manifest[field])
          .filter((value): value is string => typeof value === 'string'),
      ].map((target) => target.replace(/^\.\//, ''));
      expect(targets.length).toBeGreaterThan(0);
      for (const target of targets) {
        expect(files.has(target), `${manifest.name}: ${target}`).toBe(true);
      }
    }
  });

  it('publish the workspace exports without the source condition, and no workspace ranges', () => {
    for (const { workspace, manifest } of packed.values()) {
      expect(manifest.exports, manifest.name).toEqual(withoutSourceCondition(workspace.exports));
      expect(JSON.stringify(manifest), manifest.name).not.toMatch(/@metered\/source|workspace:/);
      expect(manifest.publishConfig?.access, manifest.name).toBe('public');
      expect(manifest.license, manifest.name).toBe('MIT');
      for (const [dependency, range] of Object.entries(manifest.dependencies ?? {})) {
        if (!dependency.startsWith('@metered/')) continue;
        expect(range, `${manifest.name} → ${dependency}`).toBe(
          `^${packed.get(dependency)?.manifest.version ?? '?'}`,
        );
      }
    }
  });

  it('ship source maps that embed their sources (no src/ folder is published)', () => {
    for (const { manifest, files } of packed.values()) {
      for (const [path, body] of files) {
        if (!path.endsWith('.map')) continue;
        const map = JSON.parse(body.toString('utf8')) as {
          sources: string[];
          sourcesContent?: (string | null)[];
        };
        expect(map.sources.length, `${manifest.name}: ${path}`).toBeGreaterThan(0);
        expect(map.sourcesContent?.length, `${manifest.name}: ${path}`).toBe(map.sources.length);
        expect(map.sourcesContent?.every((content) => typeof content === 'string')).toBe(true);
      }
    }
  });
});

/** Writes a throwaway project depending on the given tarballs and installs it with npm. */
async function createProject(
  name: string,
  type: 'module' | 'commonjs',
  packages: readonly string[],
): Promise<string> {
  const directory = join(temp, name);
  mkdirSync(directory);
  const dependencies = Object.fromEntries(
    packages.map((packageName) => [packageName, `file:${packed.get(packageName)?.tarball ?? ''}`]),
  );
  writeFileSync(
    join(directory, 'package.json'),
    JSON.stringify({ name, version: '0.0.0', private: true, type, dependencies }, null, 2),
  );
  const result = await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'],
    { cwd: directory, timeoutMs: INSTALL_TIMEOUT_MS, env: npmEnvironment() },
  );
  expect(result.code, describeRun(`npm install in ${name}`, result)).toBe(0);
  // Every @metered package comes from its tarball, once: none from the registry, no nested copy.
  const lock = readJson<{ packages: Record<string, { resolved?: string }> }>(
    join(directory, 'package-lock.json'),
  );
  const installed = Object.entries(lock.packages).filter(([path]) => path.includes('@metered/'));
  expect(installed.map(([path]) => path).sort()).toEqual(
    packages.map((packageName) => `node_modules/${packageName}`).sort(),
  );
  for (const [path, entry] of installed) {
    expect(entry.resolved, path).toMatch(/^file:/);
  }
  return directory;
}

/** Runs a consumer script with node and parses the JSON line it prints. */
async function runConsumer(directory: string, file: string): Promise<Record<string, unknown>> {
  const result = await run(process.execPath, [file], { cwd: directory, timeoutMs: RUN_TIMEOUT_MS });
  expect(result.code, describeRun(`node ${file}`, result)).toBe(0);
  return JSON.parse(result.stdout.trim()) as Record<string, unknown>;
}

const expectedFor = (entries: readonly string[]): Record<string, unknown> =>
  Object.fromEntries(entries.map((entry) => [entry, EXPECTED[entry]]));

const expectedVersions = (): Record<string, string | undefined> =>
  Object.fromEntries(PUBLIC_PACKAGES.map((name) => [name, packed.get(name)?.manifest.version]));

describe('the consumers', () => {
  it('import every entry point the packages export', () => {
    const exported = [...packed.values()].flatMap(({ manifest }) =>
      Object.keys(manifest.exports).map((key) =>
        key === '.' ? manifest.name : `${manifest.name}/${key.replace(/^\.\//, '')}`,
      ),
    );
    const covered = [...NODE_ENTRIES, ...PUBLIC_PACKAGES.map((name) => `${name}/package.json`)];
    expect(exported.sort()).toEqual(covered.sort());
  });

  it(
    'a plain Node ESM project imports every entry point, and the server bin starts',
    async () => {
      const directory = await createProject('esm-project', 'module', PUBLIC_PACKAGES);
      writeFileSync(join(directory, 'index.js'), ESM_SOURCE);
      expect(await runConsumer(directory, 'index.js')).toEqual({
        results: expectedFor(NODE_ENTRIES),
        versions: expectedVersions(),
      });

      const server = spawn(
        join(directory, 'node_modules', '.bin', 'metered-server'),
        ['--port', '0', '--host', '127.0.0.1'],
        { cwd: directory, stdio: ['ignore', 'pipe', 'pipe'], timeout: RUN_TIMEOUT_MS },
      );
      try {
        const lines = createInterface({ input: server.stdout });
        const [firstLine] = (await once(lines, 'line')) as [string];
        expect(firstLine).toMatch(/^listening on ws:\/\/127\.0\.0\.1:\d+/);
      } finally {
        const exited = once(server, 'exit');
        server.kill('SIGTERM');
        const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
        // The CLI installs its SIGTERM handler just after printing the banner, so a SIGTERM sent
        // on the first line may still meet the default action. Either way it stopped at once.
        expect([
          { code: 0, signal: null },
          { code: null, signal: 'SIGTERM' },
        ]).toContainEqual({ code, signal });
      }
    },
    INSTALL_TIMEOUT_MS + 2 * RUN_TIMEOUT_MS,
  );

  it(
    'an esbuild browser bundle of the browser-safe entry points builds and runs',
    async () => {
      const directory = await createProject('bundle-project', 'module', BROWSER_PACKAGES);
      writeFileSync(join(directory, 'entry.js'), BUNDLE_SOURCE);
      const result = await build({
        absWorkingDir: directory,
        entryPoints: ['entry.js'],
        outfile: join(directory, 'bundle.js'),
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        logLevel: 'silent',
      });
      expect(result.errors).toEqual([]);
      expect(result.warnings).toEqual([]);
      const bundle = readFileSync(join(directory, 'bundle.js'), 'utf8');
      // One copy of the error classes, shared by every package that re-exports them.
      expect(bundle.match(/\bMeteredRealtimeError\d* = class\b/g)).toHaveLength(1);
      expect(await runConsumer(directory, 'bundle.js')).toEqual({
        results: expectedFor(BROWSER_ENTRIES),
      });
    },
    INSTALL_TIMEOUT_MS + RUN_TIMEOUT_MS,
  );
});
