// Child process: N receiving sockets (raw WebSocket frames, see ws-lite.mjs) on one of the
// benchmark servers. It counts message frames and the publish→deliver latency of sampled ones
// (the publisher writes `"t":<µs>` in each payload), and tells the parent when a target is met.
import { nowMicros, percentile, serveRpc } from './common.mjs';
import { LiteSocket, frameEquals, timestampOf } from './ws-lite.mjs';

const sockets = [];
let delivered = 0;
let expected = Infinity;
let stride = 1;
let samples = new Float64Array(0);
let sampleCount = 0;
let lastAt = 0;
const clockOffset = nowMicros() - performance.now() * 1000;

function onMessageFrame(buffer, start, end) {
  const t = timestampOf(buffer, start, end);
  if (t < 0) return;
  delivered++;
  lastAt = performance.now();
  if (delivered % stride === 0 && sampleCount < samples.length) {
    samples[sampleCount++] = performance.now() * 1000 + clockOffset - t;
  }
  if (delivered === expected) process.send?.({ event: 'done', delivered });
}

/** Opens one receiver and resolves once it is subscribed. */
function openReceiver(kind, base, channel) {
  return new Promise((resolve, reject) => {
    let ready = false;
    let step = 0;
    let socket;
    const onFrame = (buffer, start, end) => {
      if (ready) {
        if (kind === 'socketio' && frameEquals(buffer, start, end, '2')) socket.send('3');
        else onMessageFrame(buffer, start, end);
        return;
      }
      const text = buffer.toString('utf8', start, end);
      if (kind === 'socketio') {
        if (text.startsWith('0{')) socket.send('40');
        else if (text.startsWith('40')) {
          ready = true;
          resolve(socket);
        }
        return;
      }
      // protocol v1 (ours and the raw ws server): welcome → subscribe → ack → presence snapshot
      const frame = JSON.parse(text);
      if (step === 0 && frame.type === 'welcome') {
        step = 1;
        socket.send(JSON.stringify({ type: 'subscribe', channel, requestId: 's' }));
      } else if (frame.type === 'presence') {
        ready = true;
        resolve(socket);
      } else if (frame.type === 'error') reject(new Error(`subscribe refused: ${text}`));
    };
    const url =
      kind === 'socketio'
        ? `${base}/socket.io/?EIO=4&transport=websocket`
        : `${base}/v1?key=${process.env.BENCH_KEY ?? 'pk_bench'}`;
    socket = new LiteSocket(url, onFrame);
    socket.opened.catch(reject);
  });
}

serveRpc({
  async connect({ kind, base, count, channel, concurrency = 50 }) {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const index = next++;
        const name =
          typeof channel === 'string' ? channel : `${channel.prefix}${index % channel.rooms}`;
        sockets.push(await openReceiver(kind, base, name));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return sockets.length;
  },
  arm({ target, sampleStride = 1, maxSamples = 1_000_000 }) {
    delivered = 0;
    expected = target;
    stride = sampleStride;
    samples = new Float64Array(maxSamples);
    sampleCount = 0;
    return true;
  },
  stats() {
    const sorted = samples.subarray(0, sampleCount).sort();
    return {
      delivered,
      lastAt: lastAt * 1000 + clockOffset,
      samples: sampleCount,
      p50: percentile(sorted, 50) / 1000,
      p99: percentile(sorted, 99) / 1000,
      open: sockets.filter((socket) => socket.open).length,
    };
  },
  close() {
    for (const socket of sockets) socket.destroy();
    sockets.length = 0;
    return true;
  },
});
process.send?.({ ready: true });
