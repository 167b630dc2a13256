import type { Track as NativeTrack } from 'node-datachannel';
import type { NodeMediaStream, NodeMediaStreamTrack } from './media-stream-track.js';

/** The directions of a transceiver. */
export type RTCRtpTransceiverDirectionLike =
  'sendrecv' | 'sendonly' | 'recvonly' | 'inactive' | 'stopped';

/** Sends one local track over one m-line. */
export class NodeRTCRtpSender {
  #track: NodeMediaStreamTrack | null;
  #detach: (() => void) | undefined;
  #native: NativeTrack | undefined;
  #canSend: () => boolean = () => false;
  /** @internal */
  readonly streams: NodeMediaStream[];
  /** The SSRC this sender writes into every packet. */
  readonly ssrc: number;
  #payloadType: number;
  readonly #onStats: (bytes: number) => void;

  /** @internal */
  constructor(options: {
    track: NodeMediaStreamTrack | null;
    streams: NodeMediaStream[];
    ssrc: number;
    payloadType: number;
    onStats: (bytes: number) => void;
  }) {
    this.#track = options.track;
    this.streams = options.streams;
    this.ssrc = options.ssrc;
    this.#payloadType = options.payloadType;
    this.#onStats = options.onStats;
  }

  get track(): NodeMediaStreamTrack | null {
    return this.#track;
  }

  /** The negotiated RTP payload type. */
  get payloadType(): number {
    return this.#payloadType;
  }

  /** @internal */
  _setPayloadType(payloadType: number): void {
    this.#payloadType = payloadType;
  }

  /** Swaps the track being sent without renegotiation; the kind must match. */
  replaceTrack(track: NodeMediaStreamTrack | null): Promise<void> {
    if (track !== null && this.#track !== null && track.kind !== this.#track.kind) {
      return Promise.reject(
        new TypeError(`cannot replace a ${this.#track.kind} track with a ${track.kind} track`),
      );
    }
    this._setTrack(track);
    return Promise.resolve();
  }

  getParameters(): {
    encodings: Array<{ ssrc: number; active: boolean }>;
    codecs: Array<{ payloadType: number }>;
  } {
    return {
      encodings: [{ ssrc: this.ssrc, active: this.#track !== null }],
      codecs: [{ payloadType: this.payloadType }],
    };
  }

  /** @internal */
  _bind(native: NativeTrack, canSend: () => boolean): void {
    this.#native = native;
    this.#canSend = canSend;
    this._setTrack(this.#track);
  }

  /** @internal */
  _setTrack(track: NodeMediaStreamTrack | null): void {
    this.#detach?.();
    this.#detach = undefined;
    this.#track = track;
    if (track === null || this.#native === undefined) return;
    const native = this.#native;
    this.#detach = track._attach((packet) => {
      if (!this.#canSend() || !native.isOpen()) return false;
      const copy = Buffer.from(packet);
      if (copy.byteLength >= 12) {
        copy[1] = ((copy[1] ?? 0) & 0x80) | (this.payloadType & 0x7f);
        copy.writeUInt32BE(this.ssrc >>> 0, 8);
      }
      const sent = native.sendMessageBinary(copy);
      this.#onStats(copy.byteLength);
      return sent || true;
    });
  }

  /** @internal */
  _dispose(): void {
    this.#detach?.();
    this.#detach = undefined;
    this.#native = undefined;
  }
}

/** Receives the remote track of one m-line. */
export class NodeRTCRtpReceiver {
  readonly track: NodeMediaStreamTrack;

  /** @internal */
  constructor(track: NodeMediaStreamTrack) {
    this.track = track;
  }
}

/** One m-line: a sender and a receiver. */
export class NodeRTCRtpTransceiver {
  readonly sender: NodeRTCRtpSender;
  readonly receiver: NodeRTCRtpReceiver;
  #mid: string | null;
  #direction: RTCRtpTransceiverDirectionLike;
  #stopped = false;

  /** @internal */
  constructor(options: {
    mid: string | null;
    sender: NodeRTCRtpSender;
    receiver: NodeRTCRtpReceiver;
    direction: RTCRtpTransceiverDirectionLike;
  }) {
    this.#mid = options.mid;
    this.sender = options.sender;
    this.receiver = options.receiver;
    this.#direction = options.direction;
  }

  get mid(): string | null {
    return this.#mid;
  }

  get direction(): RTCRtpTransceiverDirectionLike {
    return this.#direction;
  }

  get currentDirection(): RTCRtpTransceiverDirectionLike | null {
    return this.#stopped ? 'stopped' : this.#direction;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** @internal */
  _setMid(mid: string | null): void {
    this.#mid = mid;
  }

  /** @internal */
  _setDirection(direction: RTCRtpTransceiverDirectionLike): void {
    this.#direction = direction;
  }

  /** Stops sending and receiving on this m-line. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#direction = 'stopped';
    this.sender._dispose();
    this.receiver.track._end();
  }
}
