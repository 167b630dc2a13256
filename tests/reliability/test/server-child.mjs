// The server under test in a process of its own, so that it can be killed (SIGKILL), drained
// (SIGTERM-like, over IPC) and weighed (heap after a full GC) apart from the clients.
//
// Options come as JSON in RELIABILITY_SERVER_OPTIONS; the parent talks over IPC:
//   → {type: 'stats', id}  ← {type: 'stats', id, stats}
//   → {type: 'close', id}  ← {type: 'closed', id}, then the process exits 0
//   ← {type: 'listening', port, url} once, and {type: 'log', level, message} for warn and above.
// `options.broker` picks the broker, as in the server config (memory when absent).
import { MemoryBroker, startServer } from '@metered/server';

const options = JSON.parse(process.env.RELIABILITY_SERVER_OPTIONS ?? '{}');
// The memory broker is built here so that its maps can be read; the Redis broker is the server's
// own (its bookkeeping is checked in Redis by the parent).
const broker = options.broker?.kind === 'redis' ? undefined : new MemoryBroker();

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
function makeLogger() {
  const logger = { level: 'warn' };
  for (const level of LEVELS) {
    logger[level] = (first, second) => {
      if (LEVELS.indexOf(level) < LEVELS.indexOf('warn')) return;
      const message = typeof first === 'string' ? first : second;
      const err = typeof first === 'object' && first !== null ? first.err : undefined;
      process.send?.({
        type: 'log',
        level,
        message: String(message),
        error: err === undefined ? undefined : String(err?.stack ?? err),
      });
    };
  }
  logger.child = () => logger;
  logger.isLevelEnabled = (level) => LEVELS.indexOf(level) >= LEVELS.indexOf('warn');
  return logger;
}

const server = await startServer({
  ...options,
  ...(broker && { brokerImplementation: broker }),
  logger: makeLogger(),
});

function collect() {
  globalThis.gc?.();
  globalThis.gc?.();
  const memory = process.memoryUsage();
  // The broker's own maps (read directly: this is the bookkeeping a leak would show in).
  const apps = {};
  for (const [appId, state] of broker?.apps ?? []) {
    apps[appId] = {
      connections: state.connections.size,
      peers: state.peers.size,
      channels: state.channels.size,
      channelsOfConnection: state.channelsOfConnection.size,
      concurrent: state.concurrent,
    };
  }
  return { memory, apps };
}

async function stats() {
  const gauge = await server.metrics.connections.get();
  const connections = gauge.values.reduce((sum, { value }) => sum + value, 0);
  return { ...collect(), connections, pid: process.pid };
}

process.on('message', (message) => {
  if (message?.type === 'stats') {
    stats().then(
      (value) => process.send?.({ type: 'stats', id: message.id, stats: value }),
      (error) => process.send?.({ type: 'stats', id: message.id, error: String(error) }),
    );
  } else if (message?.type === 'close') {
    server.close().then(() => {
      process.send?.({ type: 'closed', id: message.id }, () => process.exit(0));
    });
  }
});
process.on('disconnect', () => {
  // The parent went away: leave quickly.
  void server.close().then(() => process.exit(0));
});

process.send?.({ type: 'listening', port: server.port, url: server.url });
