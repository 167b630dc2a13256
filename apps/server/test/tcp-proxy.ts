import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a server that can be partitioned: while partitioned, nothing
 * crosses in either direction and nothing is closed (the bytes wait, as TCP would retransmit
 * them once a partition heals); new connections are accepted and held until then. Lets a test
 * make Redis silently unreachable without root.
 */
export interface TcpProxy {
  readonly port: number;
  partition(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let partitioned = false;
  const sockets = new Set<Socket>();
  const waiting: (() => void)[] = [];
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const forward = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (partitioned) waiting.push(() => to.write(chunk));
      else to.write(chunk);
    });
    from.on('close', () => to.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    const open = (): void => {
      const upstream = connect(targetPort, '127.0.0.1');
      track(upstream);
      forward(client, upstream);
      forward(upstream, client);
    };
    if (partitioned) {
      client.pause();
      waiting.push(() => {
        open();
        client.resume();
      });
    } else open();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    partition() {
      partitioned = true;
    },
    heal() {
      partitioned = false;
      for (const step of waiting.splice(0)) step();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
