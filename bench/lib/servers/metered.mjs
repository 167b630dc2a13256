// Our server in a process of its own, for the benchmarks: `startServer` with an app whose
// limits do not throttle a benchmark. argv[2]: port (0 = any); argv[3] `history-off` switches
// channel history (extension `recovery`) off. METERED_SERVER_MODULE may name
// another build of the package (a path to its dist/index.js), to compare two builds.
import { pathToFileURL } from 'node:url';
import { BENCH_APP, BENCH_CONNECTIONS } from '../bench-app.mjs';
import { serveBenchServer } from './harness.mjs';

const { startServer, serverConfigSchema } = await import(
  process.env.METERED_SERVER_MODULE
    ? pathToFileURL(process.env.METERED_SERVER_MODULE).href
    : '@metered/server'
);
// Builds from before the `connections` limits refuse the field.
const knowsConnections = serverConfigSchema?._def?.schema?.shape?.connections !== undefined;
const server = await startServer({
  host: '127.0.0.1',
  port: Number(process.argv[2] ?? 0),
  apps: [BENCH_APP],
  ...(process.argv[3] === 'history-off' && { extensions: { recovery: false } }),
  ...(knowsConnections && { connections: BENCH_CONNECTIONS }),
  // Far above anything a benchmark buffers: the benchmarks measure throughput, not slow consumers.
  maxOutboundBufferBytes: 1024 * 1024 * 1024,
});
serveBenchServer({ port: server.port, stop: () => server.close() });
