import { createServer, connect, type Server, type Socket } from 'node:net';
import { rtcPeerConnectionFactory } from '@metered/node-webrtc-adapter';
import { MeteredPeer } from '@metered/peer';
import { signToken, startServer, type RunningServer } from '@metered/server';

// The realtime server on its own (no demo), tokens for fixed peer ids with any lifetime, a Node
// peer on the adapter, and a TCP relay whose links can be cut: what a call across signalling
// events needs.

const SECRET_KEY = { id: 'sk_browser_calls', secret: 'browser-calls-secret' };

/** The real server on 127.0.0.1 (port 0 = any free port), draining fast for restarts. */
export function startCallServer(port = 0): Promise<RunningServer> {
  return startServer({
    host: '127.0.0.1',
    port,
    drainTimeoutMs: 1_000,
    shutdownRetryAfterMs: 100,
    apps: [
      {
        id: 'browser-calls',
        secretKeys: [{ ...SECRET_KEY, channelPatterns: ['**'] }],
        limits: { messagesPerSecond: 2_000, messageBurst: 4_000 },
      },
    ],
  });
}

/** A token for a fixed peer id, so that the id survives reconnects. */
export function mintToken(peerId: string, lifetimeSec = 3600): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signToken(
    {
      ...SECRET_KEY,
      channelPatterns: ['**'],
      actions: ['subscribe', 'publish', 'presence', 'send'],
    },
    {
      peerId,
      channels: ['**'],
      permissions: ['subscribe', 'publish', 'presence', 'send'],
      issuedAt: now,
      expiresAt: now + lifetimeSec,
    },
  );
}

/** A MeteredPeer on Node with the adapter's peer connections (on 127.0.0.1) and a short reconnect backoff. */
export function createNodePeer(url: string, peerId: string, tokenLifetimeSec = 3600): MeteredPeer {
  return new MeteredPeer({
    url,
    tokenProvider: () => mintToken(peerId, tokenLifetimeSec),
    // ICE on loopback only.
    rtcPeerConnectionFactory: (configuration) =>
      rtcPeerConnectionFactory({ ...configuration, bindAddress: '127.0.0.1' }),
    reconnect: {
      initialDelayMs: 200,
      maxDelayMs: 1_000,
      multiplier: 2,
      jitterRatio: 0.2,
      maxAttempts: 50,
    },
  });
}

export interface Relay {
  readonly url: string;
  /** Destroys every link through the relay (new ones are accepted). */
  cut(): void;
  close(): Promise<void>;
}

/** A TCP relay in front of the server whose links can be cut (a blip of one side's network). */
export async function startRelay(targetPort: number): Promise<Relay> {
  const links = new Set<Socket>();
  const listener: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    links.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      links.delete(client);
      links.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as { port: number };
  const cut = (): void => {
    for (const socket of links) socket.destroy();
  };
  return {
    url: `ws://127.0.0.1:${port}`,
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        listener.close(() => resolve());
      }),
  };
}
