import { trackMetaPayload, type JsonObject } from '@metered/protocol';
import { TRACK_METADATA_CACHE_SIZE as trackMetadataCacheSize } from './options.js';
import type { RemotePeerHost } from './remote-peer.js';
import type { MediaStreamTrackLike, RTCPeerConnectionLike, TrackEventLike } from './rtc-types.js';
import { senderTrackIdsByMid } from './sdp.js';

/**
 * Track metadata between this side and one remote peer, both ways: what the remote peer said
 * about the tracks it sends (by the sender's track id, oldest dropped first beyond
 * `trackMetadataCacheSize`), and the other ids our own tracks' metadata also went under.
 */
export class TrackMetadata {
  readonly #peerId: string;
  readonly #host: RemotePeerHost;
  /** Received metadata by the sender's track id (FIFO-capped). */
  readonly #received = new Map<string, JsonObject>();
  /**
   * Local track → the other id the local SDP announces it under (a transceiver first created by
   * the remote side's offer carries an id of its own in `a=msid`), once its metadata went under it.
   */
  readonly #aliases = new Map<MediaStreamTrackLike, string>();

  constructor(peerId: string, host: RemotePeerHost) {
    this.#peerId = peerId;
    this.#host = host;
  }

  /** A `track-meta` signal from the remote peer: stores `metadata`, or forgets the track's. */
  receive(trackId: string, metadata: JsonObject | undefined): void {
    this.#received.delete(trackId);
    if (!metadata) return;
    this.#received.set(trackId, metadata);
    if (this.#received.size > trackMetadataCacheSize) {
      this.#received.delete(this.#received.keys().next().value as string);
    }
  }

  /**
   * The metadata of a received track: under the id the remote SDP announces for its section, else
   * under the track's own id, else `null`.
   */
  of(pc: RTCPeerConnectionLike, event: TrackEventLike): JsonObject | null {
    const mid = event.transceiver?.mid ?? null;
    const senderTrackId =
      mid === null ? undefined : senderTrackIdsByMid(pc.remoteDescription?.sdp).get(mid);
    return (
      (senderTrackId === undefined ? undefined : this.#received.get(senderTrackId)) ??
      this.#received.get(event.track.id) ??
      null
    );
  }

  /** Sends a local track's metadata (none: clears it on the remote side). */
  send(trackId: string, metadata?: JsonObject): void {
    this.#host.signal(this.#peerId, trackMetaPayload(trackId, metadata));
  }

  /**
   * Sends a local track's metadata again under the id its SDP section announces, when that is
   * not the track's own id. Browsers do that for a transceiver the remote side's offer created:
   * its `a=msid` names the transceiver's sender, and the receiver maps metadata through the msid.
   * Called before the description itself goes out, so the metadata is there when the `track`
   * event fires.
   */
  announceAliases(pc: RTCPeerConnectionLike, sdp: string | undefined): void {
    const announced = senderTrackIdsByMid(sdp);
    if (announced.size === 0) return;
    const localTracks = this.#host.localTracks();
    for (const transceiver of pc.getTransceivers?.() ?? []) {
      const track = transceiver.sender?.track;
      const mid = transceiver.mid;
      if (!track || mid === null) continue;
      const alias = announced.get(mid);
      const metadata = localTracks.get(track)?.metadata;
      if (alias === undefined || alias === track.id || !metadata) continue;
      if (this.#aliases.get(track) === alias) continue;
      this.#aliases.set(track, alias);
      this.send(alias, metadata);
    }
  }

  /** The alias a local track's metadata went under, forgotten from now on. */
  takeAlias(track: MediaStreamTrackLike): string | undefined {
    const alias = this.#aliases.get(track);
    this.#aliases.delete(track);
    return alias;
  }

  /** A new connection: no alias announced on it yet. */
  clearAliases(): void {
    this.#aliases.clear();
  }

  /** Closed for good: forgets what was received. */
  clear(): void {
    this.#received.clear();
  }
}
