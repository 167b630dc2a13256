import {
  MeteredPeerReplaceTrackError,
  MeteredPeerStateError,
  type MeteredPeerStateErrorMethod,
  type ReplaceTrackFailure,
} from '@metered/errors';
import { payloadSize, trackMetaPayload, type JsonObject } from '@metered/protocol';
import { checkFrameSize, sendFrameSize } from './frame-size.js';
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
  /**
   * Tracked track → earlier tracks of the same entry that members' senders still carry (a swap
   * failed there), at most one per member.
   */
  readonly #earlier = new Map<MediaStreamTrackLike, Set<MediaStreamTrackLike>>();
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

  /**
   * Swaps a sent track on every member. After a partial failure the track is tracked as
   * `newTrack` while the failed members' senders still carry the earlier track: the same call
   * again retries exactly those, and `removeTrack(newTrack)` removes their senders too.
   */
  async replaceTrack(
    oldTrack: MediaStreamTrackLike,
    newTrack: MediaStreamTrackLike | null,
  ): Promise<void> {
    this.#checkState('replace_track', true);
    const retry = Boolean(newTrack && this.#earlier.get(newTrack)?.has(oldTrack));
    const current = retry ? newTrack : oldTrack;
    const local = current ? this.byTrack.get(current) : undefined;
    if (!current || !local) throw this.#stateError('replace_track', 'the track is not sent');
    if (newTrack && newTrack !== current && this.byTrack.has(newTrack)) {
      throw this.#stateError('replace_track', 'the new track is already sent');
    }
    // The tracks members' senders may carry: the tracked one and those a failed swap left behind.
    const sources = [current, ...(this.#earlier.get(current) ?? [])];
    const key = newTrack ?? current;
    const left = new Set<MediaStreamTrackLike>();
    const succeeded: string[] = [];
    const failed: ReplaceTrackFailure[] = [];
    await Promise.all(
      [...this.#host.remotes.values()].map(async (remote) => {
        const source = sources.find(
          (track) => (!retry || track !== current) && remote.sends(track),
        );
        if (!source) return;
        try {
          await remote.replaceTrack(source, newTrack);
        } catch (err) {
          failed.push(Object.freeze({ peerId: remote.id, err }));
          left.add(source);
          return;
        }
        succeeded.push(remote.id);
        if (!newTrack) left.add(source);
        else if (local.metadata && newTrack !== source) {
          remote.sendTrackMetadata(source.id);
          remote.sendTrackMetadata(newTrack.id, local.metadata);
        }
      }),
    );
    left.delete(key);
    this.#earlier.delete(current);
    if (left.size > 0) this.#earlier.set(key, left);
    else this.#earlier.delete(key);
    if (key !== current) {
      this.byTrack.delete(current);
      this.byTrack.set(key, local);
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

  /** Media only once joined (`replaceTrack` not while reconnecting either). */
  #checkState(method: MeteredPeerStateErrorMethod, replacing: boolean): void {
    const state = this.#host.state();
    if (state !== 'joined' && (replacing || state !== 'reconnecting')) {
      throw this.#stateError(method);
    }
  }

  #stateError(method: MeteredPeerStateErrorMethod, message?: string): MeteredPeerStateError {
    return new MeteredPeerStateError({
      code: 'invalid_state',
      method,
      currentState: this.#host.state(),
      ...(message === undefined ? {} : { message }),
    });
  }

  #checkTrack(
    method: MeteredPeerStateErrorMethod,
    track: MediaStreamTrackLike,
    stream: MediaStreamLike | undefined,
    metadata: JsonObject | undefined,
  ): void {
    if (!track) throw this.#stateError(method, 'no track');
    const existing = this.byTrack.get(track);
    if (existing && existing.stream !== stream) {
      throw new MeteredPeerStateError({
        code: 'track_already_attached',
        method,
        currentState: this.#host.state(),
      });
    }
    if (metadata !== undefined) {
      checkFrameSize(
        sendFrameSize(payloadSize(trackMetaPayload(track.id, metadata))),
        this.#host.cap(),
      );
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
    const tracks = [track, ...(this.#earlier.get(track) ?? [])];
    this.#earlier.delete(track);
    if (this.#host.state() !== 'joined') return;
    for (const remote of this.#host.remotes.values()) {
      for (const sent of tracks) remote.detachTrack(sent, Boolean(local.metadata));
    }
  }
}
