import { fork, type ChildProcess } from 'node:child_process';
import { statSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { StartServerOptions } from '@metered/server';
import { brokerConfig } from './broker.js';

const here = dirname(fileURLToPath(import.meta.url));
const childScript = join(here, 'server-child.mjs');

/** Memory and bookkeeping of the server process, after a full GC. */
export interface ServerStats {
  readonly memory: NodeJS.MemoryUsage;
  readonly apps: Record<
    string,
    {
      connections: number;
      peers: number;
      channels: number;
      channelsOfConnection: number;
      concurrent: number;
    }
  >;
  /** The `metered_connections` gauge summed over apps. */
  readonly connections: number;
  readonly pid: number;
}

export interface ServerLog {
  readonly level: string;
  readonly message: string;
  readonly error?: string;
}

type ChildOptions = Omit<StartServerOptions, 'logger' | 'brokerImplementation' | 'now'>;

/** Newest modification time of the built sources under a folder, in ms. */
function newest(folder: string): number {
  let latest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    // Tests beside the sources are not part of the build.
    else if (!/\.test(-d)?\.ts$/.test(entry.name))
      latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

/**
 * The child runs the built server (`dist`): `turbo run test` builds it first. Run by hand, a
 * missing or stale build is an error that says so, instead of testing old code.
 */
function checkBuild(): void {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve('@metered/server/package.json');
  const root = dirname(packageJson);
  let built = 0;
  try {
    built = statSync(join(root, 'dist', 'index.js')).mtimeMs;
  } catch {
    // reported below
  }
  if (built < newest(join(root, 'src'))) {
    throw new Error(
      '@metered/server dist is missing or older than its sources: run `node scripts/pnpm.mjs exec turbo run build --filter=@metered/server...` first',
    );
  }
}

/** The real server in a child process (`--expose-gc`), driven over IPC. */
export class ServerProcess {
  readonly logs: ServerLog[] = [];
  private readonly pending = new Map<number, (message: any) => void>();
  private nextId = 0;
  private exitCode: number | null | undefined;
  private exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.exitCode = code;
        this.exitSignal = signal;
        for (const reject of this.pending.values()) reject({ type: 'exited' });
        this.pending.clear();
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) {
        done(child.exitCode, child.signalCode);
      } else child.once('exit', done);
    });
    child.on('message', (message: any) => {
      if (message?.type === 'log') this.logs.push(message as ServerLog);
      const waiter = this.pending.get(message?.id as number);
      if (waiter) {
        this.pending.delete(message.id as number);
        waiter(message);
      }
    });
  }

  /** Starts the server on the broker of the current test ({@link brokerConfig}) unless told. */
  static async start(options: ChildOptions): Promise<ServerProcess> {
    checkBuild();
    options = { broker: brokerConfig(), ...options };
    const child = fork(childScript, [], {
      execArgv: ['--expose-gc'],
      env: { ...process.env, RELIABILITY_SERVER_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const port = await new Promise<number>((resolve, reject) => {
      const onMessage = (message: any): void => {
        if (message?.type !== 'listening') return;
        child.off('exit', onExit);
        child.off('message', onMessage);
        resolve(message.port as number);
      };
      const onExit = (code: number | null): void =>
        reject(new Error(`server process exited (${code}) before listening: ${stderr}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    const server = new ServerProcess(child, port);
    child.stderr?.on('data', (chunk: Buffer) => {
      server.logs.push({ level: 'stderr', message: chunk.toString('utf8') });
    });
    return server;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** True while the process runs. */
  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** How it ended: `{code, signal}`, or undefined while it runs. */
  get exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitCode === undefined
      ? undefined
      : { code: this.exitCode, signal: this.exitSignal };
  }

  private call(type: string): Promise<any> {
    if (!this.alive) return Promise.reject(new Error('server process is not running'));
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (message) => {
        if (message.type === 'exited') reject(new Error('server process exited'));
        else if (message.error) reject(new Error(String(message.error)));
        else resolve(message);
      });
      this.child.send({ type, id });
    });
  }

  async stats(): Promise<ServerStats> {
    return ((await this.call('stats')) as { stats: ServerStats }).stats;
  }

  /** Graceful: `going_away` + 1001 to every socket, drain, exit 0. */
  async drain(): Promise<void> {
    await this.call('close');
    await this.exited;
  }

  /** `kill -9`: no going_away, no close frames, sockets reset by the kernel. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Errors the server logged (warn and above, and anything on stderr). */
  errors(): ServerLog[] {
    return this.logs.filter((log) => log.level !== 'warn');
  }
}
