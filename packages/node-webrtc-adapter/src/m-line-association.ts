import { randomInt } from 'node:crypto';
import {
  Audio,
  Video,
  type PeerConnection as NativePeerConnection,
  type Track as NativeTrack,
} from 'node-datachannel';
import { NodeRTCTrackEvent, emit } from './events.js';
import { nativeCallback } from './native-callback.js';
import { NodeMediaStream, NodeMediaStreamTrack, type MediaKind } from './media-stream-track.js';
import { isRtcpPacket } from './rtp.js';
import { NodeRTCRtpReceiver, NodeRTCRtpSender, NodeRTCRtpTransceiver } from './rtp-transceiver.js';
import { mediaSections, type SdpCodec, type SdpMediaSection } from './sdp.js';

const VIDEO_PAYLOAD_TYPE = 96;
const AUDIO_PAYLOAD_TYPE = 111;

type NativeDirection = 'SendRecv' | 'SendOnly' | 'RecvOnly' | 'Inactive';

/** The descriptions of the peer connection the transceivers belong to; `track` fires on it. */
export interface MLineHost extends EventTarget {
  readonly localDescription: { readonly sdp: string } | null;
  readonly remoteDescription: { readonly sdp: string } | null;
  readonly currentLocalDescription: { readonly sdp: string } | null;
  readonly currentRemoteDescription: { readonly sdp: string } | null;
}

/**
 * The transceivers of a peer connection and the m-line (mid and native track) each one has:
 * tracks added before an offer get theirs with the next offer, or from a remote offer's free
 * m-line of the same kind, as in browsers; a rolled-back offer takes unnegotiated ones back. Also
 * fires `track` for every transceiver the remote side sends to.
 */
export class MLineAssociation {
  readonly #host: MLineHost;
  readonly #native: NativePeerConnection;
  readonly #isClosed: () => boolean;
  readonly #transceivers: NodeRTCRtpTransceiver[] = [];
  readonly #nativeTracks = new Map<NodeRTCRtpTransceiver, NativeTrack>();
  readonly #remoteStreams = new Map<string, NodeMediaStream>();
  /** Transceivers whose `track` event was fired. */
  readonly #announced = new WeakSet<NodeRTCRtpTransceiver>();
  /** Native tracks of a rolled-back offer, by mid, that no transceiver owns any more. */
  readonly #spareNatives = new Map<string, NativeTrack>();
  /**
   * Handles replaced by a newer one for the same native track. node-datachannel closes the
   * track when a handle is garbage-collected: they live as long as the connection.
   */
  readonly #retiredNatives: NativeTrack[] = [];
  #nextMid = 1;

  constructor(options: { host: MLineHost; native: NativePeerConnection; isClosed: () => boolean }) {
    this.#host = options.host;
    this.#native = options.native;
    this.#isClosed = options.isClosed;
  }

  /** Every transceiver, in the order it was created. */
  get transceivers(): readonly NodeRTCRtpTransceiver[] {
    return this.#transceivers;
  }

  /**
   * The sender for `addTrack`: a live transceiver of the same kind that sends nothing takes the
   * track; else a new transceiver without m-line, which comes with the next offer, or with the
   * matching m-line of a remote offer applied first.
   */
  senderFor(track: NodeMediaStreamTrack, streams: NodeMediaStream[]): NodeRTCRtpSender {
    const reusable = this.#transceivers.find(
      (transceiver) =>
        !transceiver.stopped &&
        transceiver.sender.track === null &&
        transceiver.receiver.track.kind === track.kind &&
        transceiver.direction !== 'recvonly',
    );
    if (reusable !== undefined) {
      reusable.sender._setTrack(track);
      reusable.sender.streams.splice(0, reusable.sender.streams.length, ...streams);
      return reusable.sender;
    }
    const sender = new NodeRTCRtpSender({
      track,
      streams: [...streams],
      ssrc: randomInt(1, 0xffffffff),
      payloadType: track.kind === 'video' ? VIDEO_PAYLOAD_TYPE : AUDIO_PAYLOAD_TYPE,
      onStats: () => undefined,
    });
    const receiver = new NodeRTCRtpReceiver(new NodeMediaStreamTrack({ kind: track.kind }, true));
    const transceiver = new NodeRTCRtpTransceiver({
      mid: null,
      sender,
      receiver,
      direction: 'sendrecv',
    });
    this.#transceivers.push(transceiver);
    return sender;
  }

  /** Before a local offer: every live transceiver without m-line gets one (a spare one first). */
  associateForOffer(): void {
    for (const transceiver of this.#transceivers) {
      if (transceiver.mid !== null || transceiver.stopped) continue;
      const spare = this.#spareNatives.keys().next();
      const mid = spare.done === true ? this.#allocateMid() : spare.value;
      this.#materialize(transceiver, mid, 'SendRecv', undefined);
    }
  }

  /**
   * Before a remote offer is applied: every m-line it adds takes a transceiver of the same kind
   * that has no m-line yet (one added with `addTrack` before the offer arrived), as browsers do,
   * or a new receive-only one.
   */
  associateWithOffer(sdp: string): void {
    for (const section of mediaSections(sdp)) {
      const { mid } = section;
      if (mid === undefined || (section.kind !== 'audio' && section.kind !== 'video')) continue;
      if (this.#transceivers.some((transceiver) => transceiver.mid === mid)) continue;
      const pending = this.#transceivers.find(
        (transceiver) =>
          transceiver.mid === null &&
          !transceiver.stopped &&
          transceiver.receiver.track.kind === section.kind,
      );
      if (pending !== undefined) {
        this.#materialize(pending, mid, answerDirection(section.direction), section);
      } else if (!section.rejected) {
        // Nothing to send on it: a receive-only transceiver, answered `recvonly` (`inactive`
        // when the offer sends nothing) without msid or SSRC, as JSEP says. Left to itself,
        // node-datachannel would answer `sendrecv` and echo the offer's msid, and the other
        // side would fire `track` for a stream that does not exist.
        const receiver = new NodeRTCRtpReceiver(remoteTrackOf(section, section.kind));
        const sender = idleSender(section.kind);
        const transceiver = new NodeRTCRtpTransceiver({
          mid: null,
          sender,
          receiver,
          direction: 'recvonly',
        });
        const direction = section.direction === 'inactive' || section.direction === 'recvonly';
        this.#materialize(transceiver, mid, direction ? 'Inactive' : 'RecvOnly', section);
      }
    }
  }

  /**
   * A rolled-back local offer gave m-lines to transceivers that were never negotiated: they
   * lose them again (their native tracks are kept for reuse, by mid).
   */
  unassociateUnnegotiated(): void {
    const negotiated = new Set<string>();
    for (const description of [
      this.#host.currentLocalDescription,
      this.#host.currentRemoteDescription,
    ]) {
      for (const section of mediaSections(description?.sdp ?? '')) {
        if (section.mid !== undefined) negotiated.add(section.mid);
      }
    }
    for (const transceiver of this.#transceivers) {
      const { mid } = transceiver;
      if (mid === null || negotiated.has(mid) || transceiver.stopped) continue;
      const native = this.#nativeTracks.get(transceiver);
      this.#nativeTracks.delete(transceiver);
      if (native !== undefined) this.#spareNatives.set(mid, native);
      transceiver.sender._dispose();
      transceiver._setMid(null);
    }
  }

  /** node-datachannel reports a remote track: a new receive-only transceiver, and `track`. */
  onNativeTrack(native: NativeTrack): void {
    if (this.#isClosed()) return;
    const mid = native.mid();
    if (this.#transceivers.some((transceiver) => transceiver.mid === mid)) return;
    const kind: MediaKind = native.type() === 'audio' ? 'audio' : 'video';
    const section = mediaSections(this.#host.remoteDescription?.sdp ?? '').find(
      (s) => s.mid === mid,
    );
    const track = remoteTrackOf(section, kind);
    const streams = this.#remoteStreamsOf(section, track);
    const sender = idleSender(kind);
    const receiver = new NodeRTCRtpReceiver(track);
    const transceiver = new NodeRTCRtpTransceiver({ mid, sender, receiver, direction: 'recvonly' });
    this.#bindTransceiver(transceiver, native);
    this.#announced.add(transceiver);
    emit(this.#host, new NodeRTCTrackEvent('track', { track, streams, receiver, transceiver }));
  }

  /** Fires `track` for every transceiver the remote description now sends to. */
  announceRemoteTracks(): void {
    const sections = mediaSections(this.#host.remoteDescription?.sdp ?? '');
    const localSections = mediaSections(this.#host.localDescription?.sdp ?? '');
    for (const transceiver of this.#transceivers) {
      if (transceiver.mid === null || transceiver.stopped || this.#announced.has(transceiver)) {
        continue;
      }
      const section = sections.find((candidate) => candidate.mid === transceiver.mid);
      if (section === undefined) continue;
      if (section.direction !== 'sendrecv' && section.direction !== 'sendonly') continue;
      // node-datachannel answers an m-line it has no track for with a bare `sendrecv`: only
      // a section that names what it sends (msid or SSRC) has a track behind it.
      // It also echoes the offer's msid there: a section that repeats ours sends nothing.
      if (section.msids.length === 0) continue;
      const ours = localSections.find((candidate) => candidate.mid === transceiver.mid);
      const echo = (ours?.msids ?? []).map(([stream, id]) => `${stream} ${id}`).join();
      if (echo !== '' && echo === section.msids.map(([stream, id]) => `${stream} ${id}`).join()) {
        continue;
      }
      this.#announced.add(transceiver);
      const { receiver } = transceiver;
      const track = receiver.track;
      const streams = this.#remoteStreamsOf(section, track);
      emit(this.#host, new NodeRTCTrackEvent('track', { track, streams, receiver, transceiver }));
    }
  }

  /** Stops every transceiver and closes every native track (the connection closes). */
  close(): void {
    for (const transceiver of this.#transceivers) {
      transceiver.stop();
      try {
        this.#nativeTracks.get(transceiver)?.close();
      } catch {
        // Already closed natively.
      }
    }
    this.#nativeTracks.clear();
    for (const native of [...this.#spareNatives.values(), ...this.#retiredNatives]) {
      try {
        native.close();
      } catch {
        // Already closed natively.
      }
    }
    this.#spareNatives.clear();
    this.#retiredNatives.length = 0;
  }

  /**
   * Gives `transceiver` its m-line: a native track with `mid` that carries the sender's SSRC
   * and stream, with the offered codec when answering. node-datachannel's `addTrack` on a mid it
   * already knows (an m-line of a rolled-back offer) re-describes that track.
   */
  #materialize(
    transceiver: NodeRTCRtpTransceiver,
    mid: string,
    direction: NativeDirection,
    offered: SdpMediaSection | undefined,
  ): void {
    const { sender } = transceiver;
    const kind = transceiver.receiver.track.kind;
    const media = kind === 'video' ? new Video(mid, direction) : new Audio(mid, direction);
    const codec = offered === undefined ? undefined : pickCodec(offered, kind);
    if (codec !== undefined) {
      if (media instanceof Video) {
        media.addVideoCodec(codec.payloadType, codec.name, codec.fmtp);
      } else {
        media.addAudioCodec(codec.payloadType, codec.name, codec.fmtp);
      }
      sender._setPayloadType(codec.payloadType);
    } else if (media instanceof Video) {
      media.addH264Codec(sender.payloadType);
    } else {
      media.addOpusCodec(sender.payloadType);
    }
    if (sender.track !== null && direction !== 'RecvOnly' && direction !== 'Inactive') {
      const cname = `node-${sender.ssrc}`;
      media.addSSRC(sender.ssrc, cname, sender.streams[0]?.id ?? '-', sender.track.id);
    }
    const spare = this.#spareNatives.get(mid);
    if (spare !== undefined) {
      this.#spareNatives.delete(mid);
      this.#retiredNatives.push(spare);
    }
    const native = this.#native.addTrack(media);
    transceiver._setMid(mid);
    this.#bindTransceiver(transceiver, native);
  }

  #bindTransceiver(transceiver: NodeRTCRtpTransceiver, native: NativeTrack): void {
    if (!this.#transceivers.includes(transceiver)) this.#transceivers.push(transceiver);
    this.#nativeTracks.set(transceiver, native);
    transceiver.sender._bind(native, () => !this.#isClosed());
    const remoteTrack = transceiver.receiver.track;
    native.onMessage(
      nativeCallback((message) => {
        if (this.#isClosed()) return;
        const packet = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
        if (!isRtcpPacket(packet)) remoteTrack._receive(packet);
      }),
    );
    native.onClosed(nativeCallback(() => remoteTrack._end()));
  }

  #allocateMid(): string {
    const used = new Set<string>();
    for (const description of [this.#host.localDescription, this.#host.remoteDescription]) {
      for (const section of mediaSections(description?.sdp ?? '')) {
        if (section.mid !== undefined) used.add(section.mid);
      }
    }
    for (const transceiver of this.#transceivers) {
      if (transceiver.mid !== null) used.add(transceiver.mid);
    }
    for (const mid of this.#spareNatives.keys()) used.add(mid);
    used.add('0');
    while (used.has(String(this.#nextMid))) this.#nextMid++;
    return String(this.#nextMid++);
  }

  #remoteStreamsOf(
    section: SdpMediaSection | undefined,
    track: NodeMediaStreamTrack,
  ): NodeMediaStream[] {
    const streams: NodeMediaStream[] = [];
    for (const [streamId] of section?.msids ?? []) {
      if (streamId === '-') continue;
      let stream = this.#remoteStreams.get(streamId);
      if (stream === undefined) {
        stream = new NodeMediaStream(streamId);
        this.#remoteStreams.set(streamId, stream);
      }
      stream.addTrack(track);
      streams.push(stream);
    }
    return streams;
  }
}

/** The track a remote m-line sends: the id its msid names, if any. */
function remoteTrackOf(
  section: SdpMediaSection | undefined,
  kind: MediaKind,
): NodeMediaStreamTrack {
  const trackId = section?.msids[0]?.[1];
  return new NodeMediaStreamTrack(
    { kind, ...(trackId === undefined || trackId === '' ? {} : { id: trackId }) },
    true,
  );
}

/** The sender of a transceiver that only receives so far: no track, its own SSRC. */
function idleSender(kind: MediaKind): NodeRTCRtpSender {
  return new NodeRTCRtpSender({
    track: null,
    streams: [],
    ssrc: randomInt(1, 0xffffffff),
    payloadType: kind === 'video' ? VIDEO_PAYLOAD_TYPE : AUDIO_PAYLOAD_TYPE,
    onStats: () => undefined,
  });
}

/** The direction of our m-line answering an offered one. */
function answerDirection(offered: SdpMediaSection['direction']): NativeDirection {
  switch (offered) {
    case 'sendrecv':
      return 'SendRecv';
    case 'recvonly':
      return 'SendOnly';
    case 'sendonly':
      return 'RecvOnly';
    case 'inactive':
      return 'Inactive';
  }
}

/**
 * The offered codec to answer with: H264 or Opus when offered, else the first one. Only a
 * well-formed `name/clock rate[/channels]` with a payload type of 0–127 is taken: libdatachannel
 * parses it while the track is built, and a malformed one would end the process.
 */
function pickCodec(section: SdpMediaSection, kind: MediaKind): SdpCodec | undefined {
  const preferred = kind === 'video' ? /^h264\//i : /^opus\//i;
  const usable = section.codecs.filter(
    (codec) =>
      codec.payloadType <= 127 && /^[A-Za-z0-9][\w.+-]*\/\d{1,9}(?:\/\d{1,3})?$/.test(codec.name),
  );
  const matching = usable.filter((codec) => preferred.test(codec.name));
  return (
    matching.find((codec) => codec.fmtp?.includes('packetization-mode=1') === true) ??
    matching[0] ??
    usable.find((codec) => !/^(rtx|red|ulpfec|flexfec)/i.test(codec.name))
  );
}
