import { randomUUID } from 'node:crypto';
import type { RunningServer, StartServerOptions } from '../src/index.js';
import { startTestServer } from './helpers.js';
import type { RedisProcess } from './redis-server.js';

/** Which broker a suite runs on. */
export type BrokerKind = 'memory' | 'redis';

/**
 * Two nodes of one deployment: on the memory broker the same server twice (there is one node),
 * on Redis two in-process servers sharing a key prefix.
 */
export async function startTwoNodes(
  kind: BrokerKind,
  redis: () => RedisProcess,
  options: StartServerOptions = {},
): Promise<[RunningServer, RunningServer]> {
  if (kind === 'memory') {
    const server = await startTestServer(options);
    return [server, server];
  }
  const broker = {
    kind: 'redis' as const,
    url: redis().url,
    keyPrefix: `extensions-${randomUUID()}`,
    leaseMs: 10_000,
  };
  const a = await startTestServer({ broker, ...options });
  const b = await startTestServer({ broker, ...options });
  return [a, b];
}
