import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { IceServer, RtcConfig } from 'node-datachannel';

/** The fields of `RTCIceServer`. */
export interface RTCIceServerLike {
  urls: string | readonly string[];
  username?: string | undefined;
  credential?: string | undefined;
}

/**
 * `RTCConfiguration`, plus node-datachannel's transport settings (Node only; ignored by
 * browsers).
 */
export interface NodeRTCConfiguration {
  iceServers?: RTCIceServerLike[] | undefined;
  iceTransportPolicy?: 'all' | 'relay' | undefined;
  bundlePolicy?: string | undefined;
  rtcpMuxPolicy?: string | undefined;
  iceCandidatePoolSize?: number | undefined;
  certificates?: unknown[] | undefined;
  /** Local address to bind and gather on, e.g. `'127.0.0.1'` for loopback only. */
  bindAddress?: string | undefined;
  /** First and last UDP port to gather on. */
  portRangeBegin?: number | undefined;
  portRangeEnd?: number | undefined;
  enableIceTcp?: boolean | undefined;
  enableIceUdpMux?: boolean | undefined;
  /** Largest data-channel message accepted, in bytes. */
  maxMessageSize?: number | undefined;
  mtu?: number | undefined;
}

/** Converts the standard `iceServers` into node-datachannel's form; unknown schemes are skipped. */
export function toNativeIceServers(servers: readonly RTCIceServerLike[] = []): IceServer[] {
  const result: IceServer[] = [];
  for (const server of servers) {
    const urls: readonly string[] = typeof server.urls === 'string' ? [server.urls] : server.urls;
    for (const url of urls) {
      const match =
        /^(stuns?|turns?):(?:\/\/)?(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(\w+))?$/i.exec(
          url.trim(),
        );
      if (match === null) continue;
      const scheme = (match[1] ?? '').toLowerCase();
      const hostname = (match[2] ?? '').replace(/^\[|\]$/g, '');
      const secure = scheme.endsWith('s');
      const port = match[3] === undefined ? (secure ? 5349 : 3478) : Number(match[3]);
      if (scheme.startsWith('stun')) {
        result.push({ hostname, port });
        continue;
      }
      const transport = (match[4] ?? 'udp').toLowerCase();
      result.push({
        hostname,
        port,
        ...(server.username === undefined ? {} : { username: server.username }),
        ...(server.credential === undefined ? {} : { password: server.credential }),
        relayType: secure ? 'TurnTls' : transport === 'tcp' ? 'TurnTcp' : 'TurnUdp',
      });
    }
  }
  return result;
}

/** The native configuration of a peer connection. */
export function toNativeConfig(config: NodeRTCConfiguration): RtcConfig {
  const native: RtcConfig = {
    iceServers: toNativeIceServers(config.iceServers),
    disableAutoNegotiation: true,
    // Media added after the connection is up needs DTLS-SRTP from the start.
    forceMediaTransport: true,
  };
  if (config.iceTransportPolicy !== undefined)
    native.iceTransportPolicy = config.iceTransportPolicy;
  if (config.bindAddress !== undefined) native.bindAddress = config.bindAddress;
  if (config.portRangeBegin !== undefined) native.portRangeBegin = config.portRangeBegin;
  if (config.portRangeEnd !== undefined) native.portRangeEnd = config.portRangeEnd;
  if (config.enableIceTcp !== undefined) native.enableIceTcp = config.enableIceTcp;
  if (config.enableIceUdpMux !== undefined) native.enableIceUdpMux = config.enableIceUdpMux;
  if (config.maxMessageSize !== undefined) native.maxMessageSize = config.maxMessageSize;
  if (config.mtu !== undefined) native.mtu = config.mtu;
  return native;
}

/**
 * The `bindAddress` option must be an address of this host (or the unspecified address):
 * libdatachannel fails to gather on any other, inside `setLocalDescription`, which ends the
 * process. Throws a `DOMException`: `InvalidAccessError` for an address the host lacks,
 * `SyntaxError` for something that is no IP address.
 */
export function checkBindAddress(address: string | undefined): void {
  if (address === undefined) return;
  if (isIP(address) === 0) {
    throw new DOMException(`bindAddress ${address} is not an IP address`, 'SyntaxError');
  }
  if (address === '0.0.0.0' || address === '::') return;
  const normalized = address.toLowerCase();
  const local = Object.values(networkInterfaces()).some((entries) =>
    (entries ?? []).some((entry) => entry.address.toLowerCase() === normalized),
  );
  if (!local) {
    throw new DOMException(
      `bindAddress ${address} is not an address of this host`,
      'InvalidAccessError',
    );
  }
}
