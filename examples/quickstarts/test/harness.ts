import { rtcPeerConnectionFactory } from '@metered/node-webrtc-adapter';
import { MeteredPeer } from '@metered/peer';
import { DEFAULT_CONFIG, startServer, type RunningServer } from '@metered/server';

/** The server a reader starts with `npx metered-server`, on a free port. */
export function startDevServer(): Promise<RunningServer> {
  return startServer({
    ...DEFAULT_CONFIG,
    host: '127.0.0.1',
    port: 0,
    drainTimeoutMs: 1_000,
    shutdownRetryAfterMs: 100,
  });
}

/** A Node peer in the room, standing in for another member. */
export function nodePeer(url: string): MeteredPeer {
  return new MeteredPeer({
    url,
    apiKey: 'pk_live_dev',
    rtcPeerConnectionFactory,
  });
}

export { waitFor } from '@metered/test-support';
