// Starting the benchmark servers (each in a process of its own) and a publisher for them.
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { forkChild, nowMicros, sleep, withTimeout } from './common.mjs';

const SCRIPTS = {
  metered: ['servers/metered.mjs', []],
  // Our server with channel history (extension `recovery`, on by default) switched off: the
  // cost of history, measured beside it.
  'metered-history-off': ['servers/metered.mjs', ['history-off']],
  // Another build of our server (METERED_BASELINE_MODULE: its dist/index.js), e.g. the one
  // before a change, measured in the same run.
  'metered-baseline': ['servers/metered.mjs', []],
  raw: ['servers/raw-ws.mjs', ['plain']],
  'raw-batched': ['servers/raw-ws.mjs', ['batched']],
  socketio: ['servers/socketio.mjs', []],
};

export const SERVER_LABELS = {
  metered: 'ours (@metered/server)',
  'metered-history-off': 'ours, history off',
  'metered-baseline': 'ours, baseline build',
  raw: 'raw ws',
  'raw-batched': 'raw ws, batched writes',
  socketio: 'Socket.IO 4',
};

/** The server kinds a comparative benchmark runs by default: the baseline build too when named. */
export function defaultKinds(kinds) {
  return process.env.METERED_BASELINE_MODULE ? [...kinds, 'metered-baseline'] : kinds;
}

/** The wire protocol a server kind speaks: `v1` or `socketio`. */
export const protocolOf = (kind) => (kind === 'socketio' ? 'socketio' : 'v1');

/** Forks a server child; resolves to `{rpc, port, base, pid}` once it listens. */
export async function startBenchServer(kind, { port = 0, exposeGc = false } = {}) {
  const [script, args] = SCRIPTS[kind];
  const baseline = process.env.METERED_BASELINE_MODULE;
  if (kind === 'metered-baseline' && !baseline) {
    throw new Error('metered-baseline needs METERED_BASELINE_MODULE=<a build>/dist/index.js');
  }
  const rpc = forkChild(fileURLToPath(new URL(script, import.meta.url)), [String(port), ...args], {
    execArgv: [
      ...(exposeGc ? ['--expose-gc'] : []),
      // e.g. `--cpu-prof --cpu-prof-dir=<dir>`: every server child profiled.
      ...(process.env.BENCH_SERVER_EXEC_ARGV?.split(' ').filter(Boolean) ?? []),
    ],
    env: kind === 'metered-baseline' ? { METERED_SERVER_MODULE: baseline } : {},
  });
  const { port: actual } = await rpc.waitFor((message) => message?.ready, 30_000, `${kind} server`);
  return { rpc, port: actual, base: `ws://127.0.0.1:${actual}`, pid: rpc.pid, kind };
}

/** Stops a server child: `stop` over IPC, then SIGTERM/SIGKILL if it lingers. */
export async function stopBenchServer(server) {
  try {
    await server.rpc.call('stop', {}, 10_000);
  } catch {
    // it is killed below
  }
  await server.rpc.stop(2000);
}

/** CPU time (user + system, µs) the server child reports for itself. */
export async function serverCpuMicros(server) {
  const { user, system } = await server.rpc.call('cpu');
  return user + system;
}

const PAD = 'x'.repeat(64);

/**
 * One publishing socket (the `ws` client) for a server kind. `publish()` stamps the payload with
 * `"t":<µs>` and counts acknowledgements.
 */
export class Publisher {
  constructor(kind, base, channel = 'fan') {
    this.protocol = protocolOf(kind);
    this.channel = channel;
    this.sent = 0;
    this.acked = 0;
    this.onAck = undefined;
    const url =
      this.protocol === 'socketio'
        ? `${base}/socket.io/?EIO=4&transport=websocket`
        : `${base}/v1?key=pk_bench`;
    this.socket = new WebSocket(url, { perMessageDeflate: false });
    this.ready = withTimeout(
      new Promise((resolve, reject) => {
        this.socket.once('error', reject);
        this.socket.on('message', (data) => {
          const text = data.toString();
          if (this.protocol === 'socketio') {
            if (text === '2') this.socket.send('3');
            else if (text.startsWith('43')) this.#acked();
            else if (text.startsWith('0{')) this.socket.send('40');
            else if (text.startsWith('40')) resolve();
          } else if (text.startsWith('{"type":"ack"')) this.#acked();
          else if (text.startsWith('{"type":"welcome"')) resolve();
          else if (text.startsWith('{"type":"error"')) reject(new Error(text));
        });
      }),
      15_000,
      'publisher connect',
    );
  }

  #acked() {
    this.acked++;
    this.onAck?.();
  }

  publish() {
    const data = `{"t":${nowMicros()},"p":"${PAD}"}`;
    const id = ++this.sent;
    this.socket.send(
      this.protocol === 'socketio'
        ? `42${id}["p",${data}]`
        : `{"type":"publish","channel":"${this.channel}","data":${data},"requestId":"p${id}"}`,
    );
  }

  /**
   * Publishes for `durationMs` keeping `window` publishes unacknowledged at most; resolves with
   * the number published once every one is acknowledged (bounded by `timeoutMs`).
   */
  async publishFor(durationMs, window, timeoutMs = 120_000) {
    const start = performance.now();
    const first = this.sent;
    await withTimeout(
      new Promise((resolve) => {
        const pump = () => {
          const publishing = performance.now() - start < durationMs;
          while (publishing && this.sent - this.acked < window) this.publish();
          if (!publishing && this.sent === this.acked) {
            this.onAck = undefined;
            resolve();
          }
        };
        this.onAck = pump;
        pump();
      }),
      durationMs + timeoutMs,
      'publishing',
    );
    return this.sent - first;
  }

  /** Publishes `count` messages, one every `intervalMs`. */
  async publishPaced(count, intervalMs) {
    const start = performance.now();
    for (let index = 0; index < count; index++) {
      this.publish();
      const wait = start + (index + 1) * intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
    }
    await withTimeout(
      (async () => {
        while (this.acked < this.sent) await sleep(5);
      })(),
      30_000,
      'paced acks',
    );
  }

  close() {
    this.socket.terminate();
  }
}
