import { randomUUID } from 'node:crypto';
import { emit, type NodeEventHandler } from './events.js';
import { parseRtpHeader, type RtpHeader } from './rtp.js';

/** The kinds of media. */
export type MediaKind = 'audio' | 'video';

/** Options of {@link NodeMediaStreamTrack}. */
export interface NodeMediaStreamTrackOptions {
  readonly kind: MediaKind;
  readonly id?: string;
  readonly label?: string;
}

/** `rtp` on a received track: one RTP packet as it arrived. */
export class NodeRtpPacketEvent extends Event {
  readonly packet: Uint8Array;
  readonly header: RtpHeader | undefined;

  constructor(type: string, init: { packet: Uint8Array }) {
    super(type);
    this.packet = init.packet;
    this.header = parseRtpHeader(init.packet);
  }
}

/**
 * A receiver of the RTP packets written into a local track: what each {@link NodeRTCRtpSender}
 * carrying the track registers on it, called with every packet given to
 * {@link NodeMediaStreamTrack.writeRtp}; returns whether it sent the packet. Senders register
 * themselves; an application does not need to create one.
 */
export type RtpSink = (packet: Uint8Array) => boolean;

/**
 * A media track for Node: there is no capture device, so the application writes RTP packets
 * into a local track (`writeRtp`) and every sender carrying it sends them (with its own SSRC and
 * payload type); a remote track emits `rtp` for every packet received and counts them.
 */
export class NodeMediaStreamTrack extends EventTarget {
  readonly kind: MediaKind;
  readonly id: string;
  readonly label: string;
  /** A disabled track sends nothing. */
  enabled = true;
  /** Packets received (remote tracks) or written and sent by at least one sender (local). */
  packetsReceived = 0;
  bytesReceived = 0;
  packetsSent = 0;
  bytesSent = 0;

  onended: NodeEventHandler<NodeMediaStreamTrack> = null;
  onmute: NodeEventHandler<NodeMediaStreamTrack> = null;
  onunmute: NodeEventHandler<NodeMediaStreamTrack> = null;
  onrtp: NodeEventHandler<NodeMediaStreamTrack, NodeRtpPacketEvent> = null;

  #readyState: 'live' | 'ended' = 'live';
  #muted: boolean;
  readonly #sinks = new Set<RtpSink>();
  /** @internal Whether this track arrived from a remote peer. */
  readonly remote: boolean;

  constructor(options: NodeMediaStreamTrackOptions, remote = false) {
    super();
    if (options.kind !== 'audio' && options.kind !== 'video') {
      throw new TypeError(`kind must be 'audio' or 'video', got ${String(options.kind)}`);
    }
    this.kind = options.kind;
    this.id = options.id ?? randomUUID();
    this.label = options.label ?? '';
    this.remote = remote;
    this.#muted = remote;
  }

  get readyState(): 'live' | 'ended' {
    return this.#readyState;
  }

  get muted(): boolean {
    return this.#muted;
  }

  /** Ends the track: nothing more is sent or received. Idempotent; fires no event (as in browsers). */
  stop(): void {
    if (this.#readyState === 'ended') return;
    this.#readyState = 'ended';
    this.#sinks.clear();
  }

  /** A new local track of the same kind. */
  clone(): NodeMediaStreamTrack {
    return new NodeMediaStreamTrack({ kind: this.kind, label: this.label });
  }

  /**
   * Hands one RTP packet to every sender carrying this track. Each sender rewrites the SSRC
   * and payload type to the negotiated ones. Returns whether at least one sender sent it.
   */
  writeRtp(packet: Uint8Array): boolean {
    if (this.#readyState === 'ended' || !this.enabled) return false;
    let sent = false;
    for (const sink of this.#sinks) {
      try {
        sent = sink(packet) || sent;
      } catch {
        // A transport not open yet drops the packet, as a network would.
      }
    }
    if (sent) {
      this.packetsSent++;
      this.bytesSent += packet.byteLength;
    }
    return sent;
  }

  /** @internal */
  _attach(sink: RtpSink): () => void {
    this.#sinks.add(sink);
    return () => {
      this.#sinks.delete(sink);
    };
  }

  /** @internal A packet arrived from the remote peer. */
  _receive(packet: Uint8Array): void {
    if (this.#readyState === 'ended') return;
    this.packetsReceived++;
    this.bytesReceived += packet.byteLength;
    if (this.#muted) {
      this.#muted = false;
      emit(this, new Event('unmute'));
    }
    if (this.enabled) emit(this, new NodeRtpPacketEvent('rtp', { packet }));
  }

  /** @internal The remote side stopped sending or the connection closed. */
  _end(): void {
    if (this.#readyState === 'ended') return;
    this.#readyState = 'ended';
    this.#sinks.clear();
    emit(this, new Event('ended'));
  }
}

/** A `MediaStream`: a named group of tracks. */
export class NodeMediaStream extends EventTarget {
  readonly id: string;
  readonly #tracks = new Set<NodeMediaStreamTrack>();

  constructor(tracksOrId?: readonly NodeMediaStreamTrack[] | string) {
    super();
    if (typeof tracksOrId === 'string') {
      this.id = tracksOrId;
    } else {
      this.id = randomUUID();
      for (const track of tracksOrId ?? []) this.#tracks.add(track);
    }
  }

  get active(): boolean {
    return [...this.#tracks].some((track) => track.readyState === 'live');
  }

  getTracks(): NodeMediaStreamTrack[] {
    return [...this.#tracks];
  }

  getAudioTracks(): NodeMediaStreamTrack[] {
    return this.getTracks().filter((track) => track.kind === 'audio');
  }

  getVideoTracks(): NodeMediaStreamTrack[] {
    return this.getTracks().filter((track) => track.kind === 'video');
  }

  getTrackById(id: string): NodeMediaStreamTrack | null {
    return this.getTracks().find((track) => track.id === id) ?? null;
  }

  addTrack(track: NodeMediaStreamTrack): void {
    this.#tracks.add(track);
  }

  removeTrack(track: NodeMediaStreamTrack): void {
    this.#tracks.delete(track);
  }
}
