import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliToRun } from './cli-build.js';
import { TestClient, testApp } from './helpers.js';

interface Cli {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  nextLine(): Promise<string>;
}

const children: ChildProcess[] = [];
let workDirectory: string;
let cliPath: string;

beforeAll(() => {
  cliPath = cliToRun('metered-server-cli-test');
  workDirectory = mkdtempSync(join(tmpdir(), 'metered-server-cli-'));
}, 180_000);
afterAll(() => rmSync(workDirectory, { recursive: true, force: true }));
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function runCli(args: string[], env: Record<string, string> = {}): Cli {
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    METERED_LOG_LEVEL: 'warn',
    ...env,
  };
  if (!('METERED_CONFIG' in env)) delete childEnv.METERED_CONFIG;
  const child = spawn(process.execPath, [cliPath, ...args], { env: childEnv, stdio: 'pipe' });
  children.push(child);
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const waiter of waiters.splice(0)) waiter();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let cursor = 0;
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    async nextLine() {
      while (lines.length <= cursor) {
        const exitedFirst = await Promise.race([
          new Promise<false>((resolve) => waiters.push(() => resolve(false))),
          exited.then(() => true),
        ]);
        if (exitedFirst && lines.length <= cursor) throw new Error(`exited: ${stderr}`);
      }
      return lines[cursor++] as string;
    },
  };
}

function writeConfig(name: string, config: unknown): string {
  const path = join(workDirectory, name);
  writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config));
  return path;
}

const LISTENING = /^listening on (ws:\/\/127\.0\.0\.1:(\d+))$/;

describe('metered-server CLI', () => {
  it('prints "listening on ws://HOST:PORT" first with --port 0, and drains on SIGTERM', async () => {
    const config = writeConfig('ok.json', { apps: [testApp()] });
    const cli = runCli(['--config', config, '--port', '0']);
    const first = await cli.nextLine();
    const match = LISTENING.exec(first);
    expect(match).not.toBeNull();
    const client = new TestClient(`${match![1]}/v1?key=pk_live_test`);
    await client.welcome();
    cli.child.kill('SIGTERM');
    expect((await client.closed).code).toBe(1001);
    expect(client.frames.at(-1)).toMatchObject({
      type: 'going_away',
      retryAfterMs: expect.any(Number),
    });
    expect(await cli.exited).toBe(0);
  });

  it('shuts down gracefully on a SIGTERM sent the moment the first line arrives', async () => {
    const config = writeConfig('ok-early.json', { apps: [testApp()] });
    const cli = runCli(['--config', config, '--port', '0'], { METERED_LOG_LEVEL: 'info' });
    expect(await cli.nextLine()).toMatch(LISTENING);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).toContain('shutting down');
  });

  it('runs the embedded default without a config and prints the dev credentials', async () => {
    const cli = runCli(['--port', '0']);
    const match = LISTENING.exec(await cli.nextLine());
    expect(match).not.toBeNull();
    while (!cli.lines.some((line) => line.includes('sk_secret_dev'))) await cli.nextLine();
    const output = cli.lines.join('\n');
    for (const credential of ['pk_live_dev', 'sk_id_dev', 'sk_secret_dev'])
      expect(output).toContain(credential);
    const client = new TestClient(`${match![1]}/v1?key=pk_live_dev`);
    await client.welcome();
    const response = await fetch(`http://127.0.0.1:${match![2]}/v1/usage`, {
      headers: { authorization: 'Bearer sk_id_dev:sk_secret_dev' },
    });
    expect(response.status).toBe(200);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
  });

  it('reads METERED_CONFIG', async () => {
    const config = writeConfig('env.json', { port: 0, apps: [testApp({ id: 'from-env' })] });
    const cli = runCli([], { METERED_CONFIG: config });
    const match = LISTENING.exec(await cli.nextLine());
    expect(match).not.toBeNull();
    const client = new TestClient(`${match![1]}/v1?key=pk_live_test`);
    await client.welcome();
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it.each([
    [
      'a bad field',
      { apps: [testApp({ limits: { maxMessageSize: 'big' as unknown as number } })] },
      'apps[0].limits.maxMessageSize',
    ],
    [
      'an unknown action',
      { apps: [testApp({ publishableKeys: [{ key: 'pk', actions: ['fly' as 'send'] }] })] },
      'apps[0].publishableKeys[0].actions[0]',
    ],
    ['no apps', { apps: [] }, 'apps'],
    [
      'a duplicate key id',
      { apps: [testApp(), testApp({ id: 'app2', publishableKeys: [] })] },
      'apps[1].secretKeys[0].id',
    ],
    ['an unknown field', { apps: [testApp()], prot: 1 }, 'prot'],
    ['invalid JSON', '{"apps": [', 'JSON'],
  ])('exits 2 naming the field for %s', async (_name, config, field) => {
    const path = writeConfig('bad.json', config);
    const cli = runCli(['--config', path, '--port', '0']);
    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toContain(field);
    expect(cli.lines).toEqual([]);
  });

  it('exits 2 for a missing config file and for a bad --port', async () => {
    const missing = runCli(['--config', join(workDirectory, 'nope.json')]);
    expect(await missing.exited).toBe(2);
    expect(missing.stderr()).toContain('nope.json');
    const badPort = runCli(['--port', 'abc']);
    expect(await badPort.exited).toBe(2);
    expect(badPort.stderr()).toContain('--port');
  });

  it('reloads the config on SIGHUP: suspending the app closes its sockets with 4012', async () => {
    const path = writeConfig('reload.json', { apps: [testApp()] });
    const cli = runCli(['--config', path, '--port', '0']);
    const match = LISTENING.exec(await cli.nextLine());
    const client = new TestClient(`${match![1]}/v1?key=pk_live_test`);
    await client.welcome();
    writeConfig('reload.json', { apps: [testApp({ suspended: true })] });
    cli.child.kill('SIGHUP');
    expect((await client.closed).code).toBe(4012);
    const refused = new TestClient(`${match![1]}/v1?key=pk_live_test`);
    expect((await refused.closed).code).toBe(4012);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });
});
