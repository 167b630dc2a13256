import type { RTCDataChannelLike } from '@metered/datachannel';
import { FakeDataChannel } from '@metered/datachannel/testing';
import type {
  IceCandidateLike,
  MediaStreamLike,
  MediaStreamTrackLike,
  PeerConnectionConfig,
  RTCPeerConnectionLike,
  RTCRtpSenderLike,
  RtcEventLike,
  SessionDescriptionLike,
  TrackEventLike,
} from '../rtc-types.js';
import { FakeMediaStream, FakeMediaStreamTrack, FakeRtpSender, nextSerial } from './fake-media.js';

function invalidState(message: string): Error {
  const error = new Error(message);
  error.name = 'InvalidStateError';
  return error;
}

/**
 * A peer connection for tests. It follows the signalling state machine of `RTCPeerConnection`
 * (offers, answers, implicit and explicit rollback, `negotiationneeded` when stable) and writes a
 * small SDP of its own: one media section per sender with `a=mid` and `a=msid`, and one
 * application section listing its data channels. Applying a remote description fires `track`
 * for each new media section, with a receiver-side track whose id differs from the sender's, and
 * `datachannel` for each new channel label. ICE is driven by the test
 * (`setIceConnectionState`, `setConnectionState`); each local description gathers one host
 * candidate and then end-of-candidates.
 */
export class FakeRTCPeerConnection implements RTCPeerConnectionLike {
  readonly id = nextSerial();
  readonly config: PeerConnectionConfig;
  signalingState = 'stable';
  iceConnectionState = 'new';
  connectionState = 'new';
  localDescription: SessionDescriptionLike | null = null;
  remoteDescription: SessionDescriptionLike | null = null;
  onnegotiationneeded: ((event: RtcEventLike) => void) | null = null;
  onicecandidate: ((event: { readonly candidate: IceCandidateLike | null }) => void) | null = null;
  oniceconnectionstatechange: ((event: RtcEventLike) => void) | null = null;
  onconnectionstatechange: ((event: RtcEventLike) => void) | null = null;
  ontrack: ((event: TrackEventLike) => void) | null = null;
  ondatachannel: ((event: { readonly channel: RTCDataChannelLike }) => void) | null = null;
  /** Senders currently attached. */
  readonly senders: FakeRtpSender[] = [];
  /** Every `setConfiguration` call. */
  readonly configurations: PeerConnectionConfig[] = [];
  /** Every candidate applied with `addIceCandidate`. */
  readonly addedCandidates: (IceCandidateLike | null)[] = [];
  /** The options of every `createOffer` call. */
  readonly offerOptions: ({ iceRestart?: boolean } | undefined)[] = [];
  /** Data channels created locally. */
  readonly dataChannels: FakeDataChannel[] = [];
  /** Receiving tracks by mid. */
  readonly receivedTracks = new Map<string, FakeMediaStreamTrack>();
  /** Makes the next `setRemoteDescription` reject. */
  failSetRemoteDescription: Error | undefined;
  /** Makes every `addIceCandidate` reject. */
  failAddIceCandidate: Error | undefined;
  closed = false;
  #needed = false;
  #version = 0;
  #offeredVersion = -1;
  #scheduled = false;
  #restartPending = false;
  #ufrag = 0;
  #mids = 0;
  readonly #remoteStreams = new Map<string, FakeMediaStream>();
  readonly #remoteChannels = new Set<string>();
  #previousLocal: SessionDescriptionLike | null = null;

  constructor(config: PeerConnectionConfig = {}) {
    this.config = config;
  }

  /** True while any `on…` handler is set. */
  get hasHandlers(): boolean {
    return Boolean(
      this.onnegotiationneeded ??
      this.onicecandidate ??
      this.oniceconnectionstatechange ??
      this.onconnectionstatechange ??
      this.ontrack ??
      this.ondatachannel,
    );
  }

  addTrack(track: MediaStreamTrackLike, ...streams: MediaStreamLike[]): FakeRtpSender {
    if (this.closed) throw invalidState('closed');
    const sender = new FakeRtpSender(track, streams, `${this.id}-${++this.#mids}`);
    this.senders.push(sender);
    this.#markNeeded();
    return sender;
  }

  /** One transceiver per sender, with the sender's mid. */
  getTransceivers(): { readonly mid: string; readonly sender: FakeRtpSender }[] {
    return this.senders.map((sender) => ({ mid: sender.mid, sender }));
  }

  removeTrack(sender: RTCRtpSenderLike): void {
    const index = this.senders.indexOf(sender as FakeRtpSender);
    if (index >= 0) this.senders.splice(index, 1);
    this.#markNeeded();
  }

  createDataChannel(label: string): FakeDataChannel {
    if (this.closed) throw invalidState('closed');
    const channel = new FakeDataChannel(label, { readyState: 'connecting' });
    this.dataChannels.push(channel);
    this.#markNeeded();
    return channel;
  }

  restartIce(): void {
    this.#restartPending = true;
    this.#markNeeded();
  }

  setConfiguration(configuration: PeerConnectionConfig): void {
    this.configurations.push(configuration);
  }

  createOffer(options?: { iceRestart?: boolean }): Promise<SessionDescriptionLike> {
    this.offerOptions.push(options);
    if (this.closed) return Promise.reject(invalidState('closed'));
    if (options?.iceRestart || this.#restartPending) this.#ufrag++;
    return Promise.resolve({ type: 'offer', sdp: this.#sdp() });
  }

  createAnswer(): Promise<SessionDescriptionLike> {
    if (this.closed || this.signalingState !== 'have-remote-offer') {
      return Promise.reject(invalidState(`createAnswer in ${this.signalingState}`));
    }
    return Promise.resolve({ type: 'answer', sdp: this.#sdp() });
  }

  async setLocalDescription(description: SessionDescriptionLike): Promise<void> {
    await Promise.resolve();
    if (this.closed) throw invalidState('closed');
    switch (description.type) {
      case 'rollback':
        if (this.signalingState !== 'have-local-offer') throw invalidState('nothing to roll back');
        this.signalingState = 'stable';
        this.localDescription = this.#previousLocal;
        this.#offeredVersion = -1;
        return;
      case 'offer':
        if (this.signalingState !== 'stable' && this.signalingState !== 'have-local-offer') {
          throw invalidState(`offer in ${this.signalingState}`);
        }
        this.#previousLocal = this.localDescription;
        this.signalingState = 'have-local-offer';
        this.localDescription = description;
        this.#offeredVersion = this.#version;
        break;
      case 'answer':
        if (this.signalingState !== 'have-remote-offer') {
          throw invalidState(`answer in ${this.signalingState}`);
        }
        this.signalingState = 'stable';
        this.localDescription = description;
        this.#scheduleNeeded();
        break;
      case 'pranswer':
        throw invalidState('pranswer is not supported');
    }
    this.#gather();
  }

  async setRemoteDescription(description: SessionDescriptionLike): Promise<void> {
    await Promise.resolve();
    if (this.closed) throw invalidState('closed');
    const failure = this.failSetRemoteDescription;
    if (failure) {
      this.failSetRemoteDescription = undefined;
      throw failure;
    }
    if (description.type === 'offer') {
      if (this.signalingState === 'have-local-offer') {
        // Implicit rollback.
        this.localDescription = this.#previousLocal;
        this.#offeredVersion = -1;
      } else if (this.signalingState !== 'stable') {
        throw invalidState(`offer in ${this.signalingState}`);
      }
      this.signalingState = 'have-remote-offer';
    } else if (description.type === 'answer') {
      if (this.signalingState !== 'have-local-offer') {
        throw invalidState(`answer in ${this.signalingState}`);
      }
      this.signalingState = 'stable';
      if (this.#offeredVersion === this.#version) this.#needed = false;
      this.#restartPending = false;
      this.#scheduleNeeded();
    } else {
      throw invalidState(`unsupported ${description.type}`);
    }
    this.remoteDescription = description;
    this.#applyRemoteMedia(description.sdp ?? '');
  }

  addIceCandidate(candidate?: IceCandidateLike | null): Promise<void> {
    if (this.failAddIceCandidate) return Promise.reject(this.failAddIceCandidate);
    if (!this.remoteDescription) return Promise.reject(invalidState('no remote description'));
    this.addedCandidates.push(candidate ?? null);
    return Promise.resolve();
  }

  close(): void {
    this.closed = true;
    this.signalingState = 'closed';
    this.iceConnectionState = 'closed';
    this.connectionState = 'closed';
  }

  // ---- driven by the test ----

  /** Sets `iceConnectionState` and fires its change handler. */
  setIceConnectionState(state: string): void {
    this.iceConnectionState = state;
    this.oniceconnectionstatechange?.({ type: 'iceconnectionstatechange' });
  }

  /** Sets `connectionState` and fires its change handler. */
  setConnectionState(state: string): void {
    this.connectionState = state;
    this.onconnectionstatechange?.({ type: 'connectionstatechange' });
  }

  // ---- internals ----

  #markNeeded(): void {
    this.#version++;
    this.#needed = true;
    this.#scheduleNeeded();
  }

  #scheduleNeeded(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (!this.closed && this.#needed && this.signalingState === 'stable') {
        this.onnegotiationneeded?.({ type: 'negotiationneeded' });
      }
    });
  }

  #gather(): void {
    const ufrag = `u${this.id}x${this.#ufrag}`;
    queueMicrotask(() => {
      if (this.closed) return;
      this.onicecandidate?.({
        candidate: {
          candidate: `candidate:1 1 udp 2122260223 127.0.0.1 ${9000 + this.id} typ host`,
          sdpMid: '0',
          sdpMLineIndex: 0,
          usernameFragment: ufrag,
        },
      });
      this.onicecandidate?.({ candidate: null });
    });
  }

  #sdp(): string {
    const lines = ['v=0', `o=- ${this.id} ${this.#version} IN IP4 127.0.0.1`, 's=-', 't=0 0'];
    // The certificate is the connection's own, as in a browser: a new connection, a new fingerprint.
    lines.push(`a=ice-ufrag:u${this.id}x${this.#ufrag}`, `a=fingerprint:sha-256 FA:KE:${this.id}`);
    for (const sender of this.senders) {
      const track = sender.track;
      lines.push(`m=${track?.kind ?? 'audio'} 9 UDP/TLS/RTP/SAVPF 96`, `a=mid:${sender.mid}`);
      if (track) {
        lines.push(`a=msid:${sender.streams[0]?.id ?? '-'} ${sender.msidTrackId ?? track.id}`);
      }
    }
    if (this.dataChannels.length > 0) {
      lines.push('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', `a=mid:${this.id}-dc`);
      for (const channel of this.dataChannels) lines.push(`a=x-datachannel:${channel.label}`);
    }
    return `${lines.join('\r\n')}\r\n`;
  }

  #applyRemoteMedia(sdp: string): void {
    const present = new Set<string>();
    for (const section of sdp.split('\r\nm=').slice(1)) {
      const lines = section.split('\r\n');
      const kind = lines[0]?.split(' ')[0] ?? 'audio';
      const mid = lines.find((line) => line.startsWith('a=mid:'))?.slice(6);
      if (kind === 'application') {
        for (const line of lines) {
          if (!line.startsWith('a=x-datachannel:')) continue;
          const label = line.slice(16);
          if (this.#remoteChannels.has(label)) continue;
          this.#remoteChannels.add(label);
          const channel = new FakeDataChannel(label, { readyState: 'connecting' });
          this.ondatachannel?.({ channel });
        }
        continue;
      }
      const msid = lines
        .find((line) => line.startsWith('a=msid:'))
        ?.slice(7)
        .split(' ');
      if (!mid || !msid) continue;
      present.add(mid);
      if (this.receivedTracks.has(mid)) continue;
      const track = new FakeMediaStreamTrack(kind, `receiver-${this.id}-${mid}`);
      this.receivedTracks.set(mid, track);
      const streamId = msid[0] ?? '-';
      const streams: FakeMediaStream[] = [];
      if (streamId !== '-') {
        const stream = this.#remoteStreams.get(streamId) ?? new FakeMediaStream([], streamId);
        this.#remoteStreams.set(streamId, stream);
        stream.addTrack(track);
        streams.push(stream);
      }
      this.ontrack?.({ track, streams, transceiver: { mid } });
    }
    for (const [mid, track] of [...this.receivedTracks]) {
      if (present.has(mid)) continue;
      this.receivedTracks.delete(mid);
      track.stop();
      for (const stream of this.#remoteStreams.values()) stream.removeTrack(track);
    }
  }
}

/** A `rtcPeerConnectionFactory` that records every connection it builds. */
export interface FakePeerConnectionFactory {
  (config: PeerConnectionConfig): FakeRTCPeerConnection;
  readonly instances: readonly FakeRTCPeerConnection[];
}

/** Creates a {@link FakePeerConnectionFactory}: pass it as `rtcPeerConnectionFactory`. */
export function createFakePeerConnectionFactory(): FakePeerConnectionFactory {
  const instances: FakeRTCPeerConnection[] = [];
  const factory = (config: PeerConnectionConfig): FakeRTCPeerConnection => {
    const pc = new FakeRTCPeerConnection(config);
    instances.push(pc);
    return pc;
  };
  return Object.defineProperty(factory, 'instances', {
    value: instances,
  }) as FakePeerConnectionFactory;
}
