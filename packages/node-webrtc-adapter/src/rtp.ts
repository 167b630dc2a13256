/** The fields of one RTP packet (RFC 3550), without extensions or CSRCs on write. */
export interface RtpPacketInit {
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly marker?: boolean;
  readonly payload: Uint8Array;
}

/** The header fields of a received RTP packet. */
export interface RtpHeader {
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly marker: boolean;
}

/** Builds an RTP packet: a 12-byte header followed by `payload`. */
export function createRtpPacket(init: RtpPacketInit): Uint8Array {
  const packet = new Uint8Array(12 + init.payload.byteLength);
  const view = new DataView(packet.buffer);
  packet[0] = 0x80;
  packet[1] = ((init.marker ?? false) ? 0x80 : 0) | (init.payloadType & 0x7f);
  view.setUint16(2, init.sequenceNumber & 0xffff);
  view.setUint32(4, init.timestamp >>> 0);
  view.setUint32(8, init.ssrc >>> 0);
  packet.set(init.payload, 12);
  return packet;
}

/** Whether `packet` is RTCP rather than RTP (RFC 5761 demultiplexing). */
export function isRtcpPacket(packet: Uint8Array): boolean {
  const type = packet[1] ?? 0;
  return packet.byteLength >= 2 && type >= 192 && type <= 223;
}

/** Reads the fixed header of an RTP packet; `undefined` when it is not one. */
export function parseRtpHeader(packet: Uint8Array): RtpHeader | undefined {
  if (packet.byteLength < 12 || ((packet[0] ?? 0) & 0xc0) !== 0x80 || isRtcpPacket(packet)) {
    return undefined;
  }
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  return {
    payloadType: (packet[1] ?? 0) & 0x7f,
    marker: ((packet[1] ?? 0) & 0x80) !== 0,
    sequenceNumber: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
  };
}
