import { rtcPeerConnectionFactory } from '@metered/node-webrtc-adapter';
import {
  MeteredPeer,
  type EventClass,
  type MeteredPeerOptions,
  type PeerEvent,
} from '@metered/peer';
import { signToken, startServer, type RunningServer } from '@metered/server';
import { waitFor } from '@metered/test-support';

const SECRET_KEY = { id: 'sk_peer_integration', secret: 'peer-integration-secret' };

/** Starts the real server on 127.0.0.1 (port 0 = any free port). */
export function startTestServer(port = 0): Promise<RunningServer> {
  return startServer({
    host: '127.0.0.1',
    port,
    drainTimeoutMs: 1_000,
    shutdownRetryAfterMs: 100,
    apps: [
      {
        id: 'peer-integration',
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

/** A MeteredPeer on Node with the adapter's peer connections. */
export function createNodePeer(
  url: string,
  peerId: string,
  options: Partial<MeteredPeerOptions> = {},
  tokenLifetimeSec = 3600,
): MeteredPeer {
  return new MeteredPeer({
    url,
    tokenProvider: () => mintToken(peerId, tokenLifetimeSec),
    rtcPeerConnectionFactory,
    reconnect: {
      initialDelayMs: 200,
      maxDelayMs: 1_000,
      multiplier: 2,
      jitterRatio: 0.2,
      maxAttempts: 50,
    },
    ...options,
  });
}

export { waitFor } from '@metered/test-support';

/** Collects every event of one class. */
export function record<T extends PeerEvent>(
  target: { on(type: EventClass<PeerEvent>, handler: (event: never) => void): () => void },
  type: EventClass<T>,
): T[] {
  const events: T[] = [];
  target.on(type, (event: T) => events.push(event));
  return events;
}

/** Joins every peer and waits until each sees all the others. */
export async function joinMesh(peers: MeteredPeer[], channel: string): Promise<void> {
  for (const peer of peers) await peer.join(channel);
  await waitFor(
    () => peers.every((peer) => peer.remotePeers.size === peers.length - 1),
    'every peer to see every other',
  );
}
