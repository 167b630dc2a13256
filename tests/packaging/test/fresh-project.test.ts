// What the README tells a newcomer to do, done in a fresh `npm init -y` project (CommonJS):
// install every tarball of `npm run pack` with one `npm install packs/*.tgz ws` (third-party
// dependencies from the registry), then require every entry point, run each README quickstart
// as written next to `npx metered-server`, bundle the browser one, and type-check the packages'
// declarations under every consumer setup of type-consumers.ts.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { CJS_SOURCE, EXPECTED, NODE_ENTRIES, PUBLIC_PACKAGES } from './consumers.js';
import { describeRun, npmEnvironment, root, run, start, type Started } from './process.js';
import { importEverything, TYPE_CONSUMERS } from './type-consumers.js';

const INSTALL_TIMEOUT_MS = 300_000;
const RUN_TIMEOUT_MS = 30_000;
const TSC_TIMEOUT_MS = 120_000;
const quickstarts = join(root, 'examples', 'quickstarts');

/**
 * Preloaded (`node --import`) before a quickstart: the quickstarts name the server a reader runs
 * (`ws://127.0.0.1:9292`), the test runs its own on a free port. Instead of editing the program,
 * the global `WebSocket` is the project's `ws` with that one origin pointed at the test's server.
 */
const POINT_AT_TEST_SERVER = `import { WebSocket } from 'ws';
const README_ORIGIN = 'ws://127.0.0.1:9292';
const target = process.env.QUICKSTART_SERVER_URL;
globalThis.WebSocket = class extends WebSocket {
  constructor(url, ...rest) {
    const text = String(url);
    super(text.startsWith(README_ORIGIN) ? target + text.slice(README_ORIGIN.length) : text, ...rest);
  }
};
`;

let temp = '';
let project = '';
const running: Started[] = [];

beforeAll(async () => {
  temp = mkdtempSync(join(tmpdir(), 'metered-fresh-'));
  project = join(temp, 'my-app');
  mkdirSync(project);
  const env = { ...npmEnvironment(), PACKS: inject('packs') };
  const init = await run('npm', ['init', '-y'], { cwd: project, timeoutMs: RUN_TIMEOUT_MS, env });
  expect(init.code, describeRun('npm init -y', init)).toBe(0);
  // As the README writes it, the shell expanding the glob.
  const install = await run(
    'sh',
    ['-c', 'npm install "$PACKS"/*.tgz ws --no-audit --no-fund --prefer-offline'],
    { cwd: project, timeoutMs: INSTALL_TIMEOUT_MS, env },
  );
  expect(install.code, describeRun('npm install packs/*.tgz ws', install)).toBe(0);
});

afterEach(async () => {
  for (const process of running.splice(0)) await process.stop();
});

afterAll(() => {
  if (temp !== '') rmSync(temp, { recursive: true, force: true });
});

/** `npx metered-server` on a free port; resolves with its URL. */
async function startServer(args: readonly string[] = []): Promise<string> {
  const server = start('npx', ['metered-server', ...args, '--port', '0', '--host', '127.0.0.1'], {
    cwd: project,
    timeoutMs: 120_000,
    env: npmEnvironment(),
  });
  running.push(server);
  const line = await server.waitForLine(/^listening on ws:\/\//, RUN_TIMEOUT_MS);
  return line.slice('listening on '.length).trim();
}

/** Copies a quickstart into the project and starts it with node, pointed at `serverUrl`. */
function startQuickstart(file: string, serverUrl: string): Started {
  const name = file.replace(/^src\//, '');
  copyFileSync(join(quickstarts, file), join(project, name));
  writeFileSync(join(project, 'point-at-test-server.mjs'), POINT_AT_TEST_SERVER);
  const program = start(process.execPath, ['--import', './point-at-test-server.mjs', name], {
    cwd: project,
    timeoutMs: 60_000,
    env: { ...process.env, QUICKSTART_SERVER_URL: serverUrl },
  });
  running.push(program);
  return program;
}

describe('a fresh npm init -y project with the packed tarballs', () => {
  it('is CommonJS, and requires every entry point (the server too)', async () => {
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as {
      type?: string;
    };
    expect(manifest.type ?? 'commonjs').toBe('commonjs');
    writeFileSync(join(project, 'index.js'), CJS_SOURCE);
    const result = await run(process.execPath, ['index.js'], {
      cwd: project,
      timeoutMs: RUN_TIMEOUT_MS,
    });
    expect(result.code, describeRun('node index.js', result)).toBe(0);
    const printed = JSON.parse(result.stdout.trim()) as { results: unknown; versions: unknown };
    expect(printed.results).toEqual(
      Object.fromEntries(NODE_ENTRIES.map((entry) => [entry, EXPECTED[entry]])),
    );
    expect(Object.keys(printed.versions as object).sort()).toEqual([...PUBLIC_PACKAGES].sort());
  });

  it('runs the pub/sub quickstart with node: alone, it says what it did', async () => {
    const url = await startServer();
    const first = startQuickstart('src/pubsub.mjs', url);
    const [, firstId] = /^connected as (\S+)$/.exec(
      await first.waitForLine(/^connected as \S+$/, RUN_TIMEOUT_MS),
    )!;
    await first.waitForLine(/^said hello in lobby; waiting for the others/, RUN_TIMEOUT_MS);
    // A second copy: each sees the other, the first gets the second one's hello.
    const second = startQuickstart('src/pubsub.mjs', url);
    const [, secondId] = /^connected as (\S+)$/.exec(
      await second.waitForLine(/^connected as \S+$/, RUN_TIMEOUT_MS),
    )!;
    await second.waitForLine(new RegExp(`^${firstId} is in lobby$`), RUN_TIMEOUT_MS);
    await first.waitForLine(new RegExp(`^${secondId} is in lobby$`), RUN_TIMEOUT_MS);
    await first.waitForLine(
      new RegExp(`^${secondId} on lobby: \\{"text":"hello, lobby"\\}$`),
      RUN_TIMEOUT_MS,
    );
  });

  it('runs the Node room quickstart with node', async () => {
    const url = await startServer();
    const program = startQuickstart('src/room-node.mjs', url);
    await program.waitForLine(/^joined room-42 as \S+$/, RUN_TIMEOUT_MS);
  });

  it('starts npx metered-server on the README config file', async () => {
    copyFileSync(join(quickstarts, 'server.json'), join(project, 'server.json'));
    expect(await startServer(['--config', 'server.json'])).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
  });

  it('bundles the browser quickstart for a page', async () => {
    copyFileSync(join(quickstarts, 'src/room-browser.ts'), join(project, 'room-browser.ts'));
    // What `npx esbuild room-browser.ts --bundle --format=esm --outfile=room.js` does.
    const result = await build({
      absWorkingDir: project,
      entryPoints: ['room-browser.ts'],
      outfile: join(project, 'room.js'),
      bundle: true,
      format: 'esm',
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(readFileSync(join(project, 'room.js'), 'utf8')).toContain('room-42');
  });
});

describe('the declarations type-check with skipLibCheck: false', () => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  it.each(TYPE_CONSUMERS)(
    'for $title',
    async ({ title, compilerOptions, files, quickstarts: copies = {} }) => {
      const directory = join(
        project,
        `types-${TYPE_CONSUMERS.findIndex((c) => c.title === title)}`,
      );
      mkdirSync(directory);
      for (const [name, entries] of Object.entries(files)) {
        writeFileSync(join(directory, name), importEverything(entries));
      }
      for (const [name, source] of Object.entries(copies)) {
        copyFileSync(join(quickstarts, source), join(directory, name));
      }
      writeFileSync(
        join(directory, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            ...compilerOptions,
            esModuleInterop: true,
            typeRoots: [join(root, 'node_modules', '@types')],
          },
          files: [...Object.keys(files), ...Object.keys(copies)],
        }),
      );
      const result = await run(process.execPath, [tsc, '-p', directory], {
        cwd: directory,
        timeoutMs: TSC_TIMEOUT_MS,
      });
      expect(result.code, describeRun(`tsc for ${title}`, result)).toBe(0);
    },
    TSC_TIMEOUT_MS,
  );
});
