// The app the benchmarks configure on our server: limits (rate, quota, connections, connect
// attempts) far above what any benchmark does, so nothing is throttled.
export const BENCH_APP = {
  id: 'bench',
  publishableKeys: [
    // Without `presence`: such subscribers are not listed, so 1,000 of them on one channel cost
    // no O(N²) presence deltas while the fan-out benchmark sets up.
    { key: 'pk_bench', actions: ['subscribe', 'publish', 'send'] },
    // All four actions, presence included.
    { key: 'pk_bench_presence' },
  ],
  secretKeys: [{ id: 'sk_id_bench', secret: 'sk_secret_bench' }],
  plan: { maxConcurrentConnections: 1_000_000, maxMessagesPerPeriod: 1_000_000_000_000 },
  limits: {
    messagesPerSecond: 10_000_000,
    messageBurst: 10_000_000,
    connectAttemptsPerIpPerMinute: 10_000_000,
    maxChannelsPerConnection: 1000,
  },
};

/**
 * The node's limits against exhaustion, far above what any benchmark does: every client of a
 * benchmark connects from 127.0.0.1, thousands at once, and reads as fast as it can.
 */
export const BENCH_CONNECTIONS = {
  maxPerAddress: 1_000_000,
  maxPendingUpgrades: 1_000_000,
  maxPendingUpgradesPerAddress: 1_000_000,
  maxOutboundBytes: 64 * 1024 * 1024 * 1024,
};

/** The config file for the CLI: host 127.0.0.1, the bench app. */
export function benchConfig(port = 0) {
  return { host: '127.0.0.1', port, connections: BENCH_CONNECTIONS, apps: [BENCH_APP] };
}
