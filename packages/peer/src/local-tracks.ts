import {
  MeteredPeerOversizedError,
  MeteredPeerReplaceTrackError,
  MeteredPeerStateError,
  type MeteredPeerStateErrorMethod,
  type ReplaceTrackFailure,
} from '@metered/errors';
import { payloadSize, trackMetaPayload, type JsonObject } from '@metered/protocol';
import type { RemotePeer } from './remote-peer.js';
import type { MediaStreamLike, MediaStreamTrackLike } from './rtc-types.js';
import type { MeteredPeerState } from './states.js';

/** A local track as the owning `MeteredPeer` tracks it. */
export interface LocalTrack {
  readonly stream: MediaStreamLike | undefined;
  readonly metadata: JsonObject | undefined;
}

/** What {@link LocalTracks} needs from the `MeteredPeer` that owns them. */
export interface LocalTracksHost {
  state(): MeteredPeerState;
  /** The largest payload the server accepts. */
  cap(): number;
  readonly remotes: ReadonlyMap<string, RemotePeer>;
}

/**
 * The tracks this side sends, with the stream and metadata each was added with: what a new
 * member's connection starts with, and what `MeteredPeer`'s media methods change on every
 * member's connection.
 */
export class LocalTracks {
  /** Local track → how it was added. */
  readonly byTrack = new Map<MediaStreamTrackLike, LocalTrack>();
  readonly #host: LocalTracksHost;

  constructor(host: LocalTracksHost) {
    this.#host = host;
  }

  addStream(stream: MediaStreamLike, metadata?: JsonObject): void {
    this.#checkState('add_stream', false);
    const tracks = stream.getTracks();
    for (const track of tracks) this.#checkTrack('add_stream', track, stream, metadata);
    for (const track of tracks) this.#add(track, stream, metadata);
  }

  addTrack(track: MediaStreamTrackLike, stream?: MediaStreamLike, metadata?: JsonObject): void {
    this.#checkState('add_track', false);
    this.#checkTrack('add_track', track, stream, metadata);
    this.#add(track, stream, metadata);
  }

  removeStream(stream: MediaStreamLike): void {
    this.#checkState('remove_stream', false);
    for (const [track, local] of [...this.byTrack]) {
      if (local.stream === stream) this.#remove(track);
    }
  }

  removeTrack(track: MediaStreamTrackLike): void {
    this.#checkState('remove_track', false);
    this.#remove(track);
  }

  async replaceTrack(
    oldTrack: MediaStreamTrackLike,
    newTrack: MediaStreamTrackLike | null,
  ): Promise<void> {
    if (!oldTrack) throw new TypeError('oldTrack is required');
    this.#checkState('replace_track', true);
    const local = this.byTrack.get(oldTrack);
    if (!local) throw new TypeError('oldTrack was not added');
    if (newTrack && newTrack !== oldTrack && this.byTrack.has(newTrack)) {
      throw new MeteredPeerStateError({
        code: 'track_already_attached',
        method: 'replace_track',
        currentState: this.#host.state(),
      });
    }
    const remotes = this.#host.remotes;
    const succeeded: string[] = [];
    const failed: ReplaceTrackFailure[] = [];
    await Promise.all(
      [...remotes.values()].map(async (remote) => {
        try {
          if (await remote.replaceTrack(oldTrack, newTrack)) succeeded.push(remote.id);
        } catch (err) {
          failed.push({ peerId: remote.id, err });
        }
      }),
    );
    if (newTrack && newTrack !== oldTrack) {
      this.byTrack.delete(oldTrack);
      this.byTrack.set(newTrack, local);
      if (local.metadata) {
        for (const id of succeeded) {
          const remote = remotes.get(id);
          remote?.sendTrackMetadata(oldTrack.id);
          remote?.sendTrackMetadata(newTrack.id, local.metadata);
        }
      }
    }
    if (failed.length > 0) throw new MeteredPeerReplaceTrackError({ succeeded, failed });
  }

  /** The metadata a local track was added with, or `null`. */
  metadataOf(track: MediaStreamTrackLike): JsonObject | null {
    return this.byTrack.get(track)?.metadata ?? null;
  }

  /** The metadata of the first track added with `stream`, or `null`. */
  metadataOfStream(stream: MediaStreamLike): JsonObject | null {
    for (const local of this.byTrack.values()) {
      if (local.stream === stream && local.metadata) return local.metadata;
    }
    return null;
  }

  #checkState(method: MeteredPeerStateErrorMethod, replacing: boolean): void {
    const state = this.#host.state();
    if (state === 'leaving' || state === 'closed' || (replacing && state === 'reconnecting')) {
      throw new MeteredPeerStateError({ code: 'invalid_state', method, currentState: state });
    }
  }

  #checkTrack(
    method: MeteredPeerStateErrorMethod,
    track: MediaStreamTrackLike,
    stream: MediaStreamLike | undefined,
    metadata: JsonObject | undefined,
  ): void {
    const existing = this.byTrack.get(track);
    if (existing && existing.stream !== stream) {
      throw new MeteredPeerStateError({
        code: 'track_already_attached',
        method,
        currentState: this.#host.state(),
      });
    }
    if (metadata !== undefined) {
      const size = payloadSize(trackMetaPayload(track.id, metadata));
      const cap = this.#host.cap();
      if (size > cap) throw new MeteredPeerOversizedError({ size, cap });
    }
  }

  #add(
    track: MediaStreamTrackLike,
    stream: MediaStreamLike | undefined,
    metadata: JsonObject | undefined,
  ): void {
    const existing = this.byTrack.get(track);
    if (existing) {
      if (metadata === undefined) return;
      this.byTrack.set(track, { stream, metadata });
      if (this.#host.state() === 'joined') {
        for (const remote of this.#host.remotes.values()) {
          remote.sendTrackMetadata(track.id, metadata);
        }
      }
      return;
    }
    const local: LocalTrack = { stream, metadata };
    this.byTrack.set(track, local);
    if (this.#host.state() !== 'joined') return;
    for (const remote of this.#host.remotes.values()) remote.attachTrack(track, local);
  }

  #remove(track: MediaStreamTrackLike): void {
    const local = this.byTrack.get(track);
    if (!local) return;
    this.byTrack.delete(track);
    if (this.#host.state() !== 'joined') return;
    for (const remote of this.#host.remotes.values()) {
      remote.detachTrack(track, Boolean(local.metadata));
    }
  }
}
