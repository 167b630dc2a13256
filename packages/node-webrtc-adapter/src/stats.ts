import type { PeerConnection as NativePeerConnection } from 'node-datachannel';
import type { NodeRTCDataChannel } from './data-channel.js';
import type { MediaKind } from './media-stream-track.js';
import type { NodeRTCRtpTransceiver } from './rtp-transceiver.js';

/** One entry of `getStats()`. */
export interface NodeRTCStats {
  readonly id: string;
  readonly type: string;
  readonly timestamp: number;
  readonly [field: string]: unknown;
}

/** What a stats report is read from: the native connection and the adapter's own objects. */
export interface StatsSource {
  readonly native: NativePeerConnection;
  readonly closed: boolean;
  readonly connectionState: string;
  readonly iceConnectionState: string;
  readonly dataChannels: ReadonlySet<NodeRTCDataChannel>;
  readonly transceivers: readonly NodeRTCRtpTransceiver[];
}

/**
 * The report of `getStats()`: transport, candidate pair and candidates, data channels, RTP
 * streams. A closed connection (or a native getter that throws) reports zeros and no pair.
 */
export function collectStats(source: StatsSource): Map<string, NodeRTCStats> {
  const { native } = source;
  const timestamp = performance.timeOrigin + performance.now();
  const stats = new Map<string, NodeRTCStats>();
  const add = (entry: NodeRTCStats): void => {
    stats.set(entry.id, entry);
  };
  const read = <T>(get: () => T, fallback: T): T => {
    if (source.closed) return fallback;
    try {
      return get();
    } catch {
      return fallback;
    }
  };
  const bytesSent = read(() => native.bytesSent(), 0);
  const bytesReceived = read(() => native.bytesReceived(), 0);
  const rtt = read(() => native.rtt(), -1);
  const pair = read(() => native.getSelectedCandidatePair(), null);
  add({
    id: 'P',
    type: 'peer-connection',
    timestamp,
    dataChannelsOpened: [...source.dataChannels].filter((c) => c.readyState === 'open').length,
  });
  add({
    id: 'T',
    type: 'transport',
    timestamp,
    bytesSent,
    bytesReceived,
    dtlsState: source.connectionState === 'connected' ? 'connected' : source.connectionState,
    iceState: source.iceConnectionState,
    ...(pair === null ? {} : { selectedCandidatePairId: 'CP' }),
  });
  if (pair !== null) {
    add({
      id: 'CP',
      type: 'candidate-pair',
      timestamp,
      transportId: 'T',
      localCandidateId: 'CL',
      remoteCandidateId: 'CR',
      state: 'succeeded',
      nominated: true,
      bytesSent,
      bytesReceived,
      ...(rtt >= 0 ? { currentRoundTripTime: rtt / 1000 } : {}),
    });
    for (const [id, type, info] of [
      ['CL', 'local-candidate', pair.local],
      ['CR', 'remote-candidate', pair.remote],
    ] as const) {
      add({
        id,
        type,
        timestamp,
        transportId: 'T',
        address: info.address,
        port: info.port,
        protocol: info.transportType.toLowerCase(),
        candidateType: info.type,
        priority: info.priority,
      });
    }
  }
  let index = 0;
  for (const channel of source.dataChannels) {
    add({
      id: `D${index++}`,
      type: 'data-channel',
      timestamp,
      label: channel.label,
      dataChannelIdentifier: channel.id,
      state: channel.readyState,
    });
  }
  for (const transceiver of source.transceivers) {
    const { sender, receiver } = transceiver;
    const kind: MediaKind = receiver.track.kind;
    if (sender.track !== null) {
      add({
        id: `O${transceiver.mid ?? ''}`,
        type: 'outbound-rtp',
        timestamp,
        kind,
        mid: transceiver.mid,
        ssrc: sender.ssrc,
        packetsSent: sender.track.packetsSent,
        bytesSent: sender.track.bytesSent,
      });
    }
    if (receiver.track.packetsReceived > 0) {
      add({
        id: `I${transceiver.mid ?? ''}`,
        type: 'inbound-rtp',
        timestamp,
        kind,
        mid: transceiver.mid,
        packetsReceived: receiver.track.packetsReceived,
        bytesReceived: receiver.track.bytesReceived,
      });
    }
  }
  return stats;
}
