import { rtcPeerConnectionFactory } from '@metered/node-webrtc-adapter';
import { MeteredPeer } from '@metered/peer';
import { mintCallToken } from '@metered/test-support';

// The realtime server on its own (no demo), tokens for fixed peer ids with any lifetime, and a
// Node peer on the adapter: what a call across signalling events needs.

export { mintCallToken, startCallServer } from '@metered/test-support';

/** A MeteredPeer on Node with the adapter's peer connections (on 127.0.0.1) and a short reconnect backoff. */
export function createNodePeer(url: string, peerId: string, tokenLifetimeSec = 3600): MeteredPeer {
  return new MeteredPeer({
    url,
    tokenProvider: () => mintCallToken(peerId, tokenLifetimeSec),
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
