import type { IceServerConfig } from '@metered/protocol';
import type {
  PeerConnectionConfig,
  RTCPeerConnectionFactory,
  RTCPeerConnectionLike,
} from './rtc-types.js';

/** The global `RTCPeerConnection` as a factory, or `undefined` where there is none (Node). */
export function defaultPeerConnectionFactory(): RTCPeerConnectionFactory | undefined {
  const Constructor = (
    globalThis as {
      RTCPeerConnection?: new (config: PeerConnectionConfig) => RTCPeerConnectionLike;
    }
  ).RTCPeerConnection;
  return Constructor ? (config) => new Constructor(config) : undefined;
}

/** The configuration of a new peer connection: the ICE servers of the last welcome, copied. */
export function peerConnectionConfig(
  iceServers: readonly IceServerConfig[] | null,
): PeerConnectionConfig {
  if (!iceServers) return {};
  return {
    iceServers: iceServers.map((server) => ({
      ...server,
      urls: typeof server.urls === 'string' ? server.urls : [...server.urls],
    })),
  };
}
