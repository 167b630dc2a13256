// A Socket.IO 4 server for the benchmarks: every socket joins room `fan`; event `p` broadcasts
// `m` to the room (not to the sender) and calls the ack; event `echo` acks with its argument.
// argv[2]: port.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { serveBenchServer } from './harness.mjs';

const http = createServer();
const io = new Server(http, {
  transports: ['websocket'],
  perMessageDeflate: false,
  serveClient: false,
  maxHttpBufferSize: 1e8,
});
io.on('connection', (socket) => {
  socket.join('fan');
  socket.on('p', (data, ack) => {
    socket.to('fan').emit('m', data);
    if (typeof ack === 'function') ack();
  });
  socket.on('echo', (data, ack) => {
    if (typeof ack === 'function') ack(data);
  });
});

await new Promise((resolve) => http.listen(Number(process.argv[2] ?? 0), '127.0.0.1', resolve));
serveBenchServer({
  port: http.address().port,
  stop: async () => {
    io.disconnectSockets(true);
    await new Promise((resolve) => io.close(() => resolve()));
  },
});
