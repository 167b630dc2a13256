// A raw `ws` server speaking just enough of protocol v1 for the benchmarks: every socket on `/v1`
// is subscribed to every channel; a `publish` is written as the same `message` frame to every
// other socket, then acknowledged. argv[2]: port; argv[3]: `plain` (one send per socket) or
// `batched` (the frame is built once as a Buffer and each socket's writes are corked until the
// end of the tick).
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { serveBenchServer } from './harness.mjs';

const mode = process.argv[3] ?? 'plain';
const http = createServer();
const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  clientTracking: false,
});
const sockets = new Set();
const corked = new Set();
let flushScheduled = false;

const flush = () => {
  flushScheduled = false;
  for (const raw of corked) raw.uncork();
  corked.clear();
};

http.on('upgrade', (request, raw, head) => {
  wss.handleUpgrade(request, raw, head, (ws) => {
    sockets.add(ws);
    ws.raw = raw;
    ws.on('close', () => sockets.delete(ws));
    ws.on('error', () => undefined);
    ws.send(JSON.stringify({ type: 'welcome', peerId: 'raw', expiresAt: null }));
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString('utf8'));
      if (frame.type === 'subscribe') {
        ws.send(JSON.stringify({ type: 'ack', requestId: frame.requestId }));
        ws.send(JSON.stringify({ type: 'presence', channel: frame.channel, joined: [], left: [] }));
      } else if (frame.type === 'echo') {
        ws.send(data, { binary: false });
      } else if (frame.type === 'publish') {
        const text = JSON.stringify({
          type: 'message',
          channel: frame.channel,
          from: 'raw',
          data: frame.data,
        });
        if (mode === 'batched') {
          const buffer = Buffer.from(text);
          for (const socket of sockets) {
            if (socket === ws) continue;
            if (!corked.has(socket.raw)) {
              socket.raw.cork();
              corked.add(socket.raw);
            }
            socket.send(buffer, { binary: false });
          }
          if (!flushScheduled) {
            flushScheduled = true;
            setImmediate(flush);
          }
        } else {
          for (const socket of sockets) if (socket !== ws) socket.send(text);
        }
        ws.send(JSON.stringify({ type: 'ack', requestId: frame.requestId }));
      }
    });
  });
});

await new Promise((resolve) => http.listen(Number(process.argv[2] ?? 0), '127.0.0.1', resolve));
serveBenchServer({
  port: http.address().port,
  stop: async () => {
    for (const socket of sockets) socket.terminate();
    await new Promise((resolve) => http.close(resolve));
  },
});
