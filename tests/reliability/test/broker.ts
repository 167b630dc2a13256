import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach } from 'vitest';
// The one launcher of a throwaway redis-server, shared with the server's own Redis tests.
import { startRedis, type RedisProcess } from '../../../apps/server/test/redis-server.js';

const run = promisify(execFile);

/**
 * The broker the suites run the server on: each file runs once per broker (the `memory` and
 * `redis` projects of vitest.config.ts set `RELIABILITY_BROKER`).
 */
export const BROKER: 'memory' | 'redis' =
  process.env.RELIABILITY_BROKER === 'redis' ? 'redis' : 'memory';

/**
 * Short, so that the members of a killed node are reaped within seconds; long enough that a
 * node on a loaded machine still renews it (every third of it).
 */
export const REDIS_LEASE_MS = 3_000;

let redis: RedisProcess | undefined;
let prefixes = 0;

/**
 * Starts this file's redis-server when the broker is Redis (call it before the file's own hooks);
 * every test gets a key prefix of its own.
 */
export function useBroker(): void {
  if (BROKER !== 'redis') return;
  beforeAll(async () => {
    redis = await startRedis();
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
    redis = undefined;
  });
  beforeEach(() => {
    prefixes++;
  });
}

/** The `broker` setting of the server config for the current test. */
export function brokerConfig():
  { kind: 'memory' } | { kind: 'redis'; url: string; keyPrefix: string; leaseMs: number } {
  if (BROKER === 'memory') return { kind: 'memory' };
  if (!redis) throw new Error('the Redis broker needs useBroker() in the test file');
  return {
    kind: 'redis',
    url: redis.url,
    keyPrefix: `reliability${prefixes}`,
    leaseMs: REDIS_LEASE_MS,
  };
}

async function redisCli(url: string, ...args: string[]): Promise<string[]> {
  const { stdout } = await run('redis-cli', ['-u', url, ...args]);
  return stdout.split('\n').filter((line) => line !== '');
}

/** Runs `commands` in one redis-cli; one line of reply per command (an empty line for nil). */
async function redisBatch(url: string, commands: readonly string[][]): Promise<string[]> {
  if (commands.length === 0) return [];
  const child = spawn('redis-cli', ['-u', url], { stdio: ['pipe', 'pipe', 'ignore'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  // redis-cli reads double-quoted arguments with backslash escapes, as JSON writes them.
  child.stdin.end(
    `${commands.map((args) => args.map((arg) => JSON.stringify(arg)).join(' ')).join('\n')}\n`,
  );
  await once(child, 'close');
  return output.split('\n').slice(0, commands.length);
}

/**
 * What the Redis broker still holds for connections once every client left: every key under the
 * current prefix that would stay for good, except the node registry (`nodes`, `lease:*`, `iq:*`) and the
 * per-app counters, whose concurrent count (`c`) must be back to 0. Keys that expire on their own
 * (records kept for a while by design) are bounded and not counted. Empty when Redis is at rest
 * (and for the memory broker).
 */
export async function redisLeftovers(): Promise<string[]> {
  const config = brokerConfig();
  if (config.kind !== 'redis') return [];
  const prefix = config.keyPrefix;
  const keys = (await redisCli(config.url, '--scan', '--pattern', `${prefix}:*`)).filter((key) => {
    const name = key.slice(prefix.length + 1);
    // A live node's own keys: its lease, and its per-app count of directs and kicks sent to it
    // (one field per app, deleted with the node).
    return name !== 'nodes' && !name.startsWith('lease:') && !name.startsWith('iq:');
  });
  const ttls = await redisBatch(
    config.url,
    keys.map((key) => ['PTTL', key]),
  );
  // -1: no expiry; -2: gone meanwhile; a positive TTL: it expires on its own.
  const lasting = keys.filter((_, index) => ttls[index] === '-1');
  const apps = lasting.filter((key) => key.slice(prefix.length + 1).startsWith('app:'));
  const counts = await redisBatch(
    config.url,
    apps.map((key) => ['HGET', key, 'c']),
  );
  const left = lasting.filter((key) => !apps.includes(key));
  apps.forEach((key, index) => {
    const concurrent = counts[index] || '0';
    if (concurrent !== '0') left.push(`${key} c=${concurrent}`);
  });
  return left.sort();
}
