import { rtcPeerConnectionFactory } from '@metered/node-webrtc-adapter';
import { MeteredPeer } from '@metered/peer';
import { signToken, startServer, type RunningServer } from '@metered/server';

// The realtime server on its own (no demo), tokens for fixed peer ids with any lifetime, a Node
// peer on the adapter: what a call across signalling events needs.

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
