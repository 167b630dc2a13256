import { rtcPeerConnectionFactory } from '@metered/node-webrtc-adapter';
import {
  MeteredPeer,
  type EventClass,
  type MeteredPeerOptions,
  type PeerEvent,
} from '@metered/peer';
import { mintCallToken, waitFor } from '@metered/test-support';

export { mintCallToken, startCallServer } from '@metered/test-support';

/** A MeteredPeer on Node with the adapter's peer connections. */
export function createNodePeer(
  url: string,
  peerId: string,
  options: Partial<MeteredPeerOptions> = {},
  tokenLifetimeSec = 3600,
): MeteredPeer {
  return new MeteredPeer({
    url,
    tokenProvider: () => mintCallToken(peerId, tokenLifetimeSec),
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
