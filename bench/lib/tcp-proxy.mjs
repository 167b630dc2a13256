// Child process: a TCP proxy playing the load balancer in front of one node. It listens on a
// free loopback port and forwards every new connection to the current target port; `retarget`
// changes the target for the connections that follow. A connection whose upstream ends (the
// node died) is ended on the client side too, so the client sees its socket drop.
import { connect, createServer } from 'node:net';
import { serveRpc } from './common.mjs';

let target = Number(process.argv[2]);
const sockets = new Set();

const server = createServer((client) => {
  const upstream = connect(target, '127.0.0.1');
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  sockets.add(client);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    sockets.delete(client);
    client.destroy();
    upstream.destroy();
  };
  for (const socket of [client, upstream]) {
    socket.on('error', end);
    socket.on('close', end);
  }
  client.pipe(upstream);
  upstream.pipe(client);
});

serveRpc({
  retarget({ port }) {
    target = port;
    return true;
  },
  stop() {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(() => resolve(true)));
  },
});

server.listen(0, '127.0.0.1', () => process.send?.({ ready: true, port: server.address().port }));
