import type { JsonObject } from '@metered/protocol';
import type { RTCDataChannelLike } from '@metered/datachannel';
import type { MediaStreamLike, MediaStreamTrackLike } from './rtc-types.js';
import type { MeteredPeerState, RemotePeerState } from './states.js';

/** Base of every peer-layer event class: an immutable copy of the fields it was built with. */
export abstract class PeerEvent {
  constructor(fields: object) {
    Object.assign(this, fields);
    Object.freeze(this);
  }
}

/** The local peer entered its channel. */
export class Joined extends PeerEvent {
  declare readonly peerId: string;
  declare readonly channel: string;
  constructor(fields: Joined) {
    super(fields);
  }
}

/** The local peer is gone for good (after `close()` or a terminal condition). */
export class Left extends PeerEvent {
  declare readonly peerId: string | null;
  declare readonly channel: string | null;
  declare readonly reason: string | null;
  constructor(fields: Left) {
    super(fields);
  }
}

/** A `MeteredPeer` or a `RemotePeer` moved from one state to another. */
export class StateChange<S extends string = MeteredPeerState | RemotePeerState> extends PeerEvent {
  declare readonly from: S;
  declare readonly to: S;
  constructor(fields: { readonly from: S; readonly to: S }) {
    super(fields);
  }
}

/** Application data from another peer: a broadcast on the channel or a direct message. */
export class Data extends PeerEvent {
  declare readonly senderPeerId: string;
  declare readonly data: unknown;
  declare readonly kind: 'broadcast' | 'direct';
  declare readonly senderMetadata: JsonObject | null;
  constructor(fields: Data) {
    super(fields);
  }
}

/** An unrecoverable condition; the peer is `closed` and `Left` follows. */
export class FatalError extends PeerEvent {
  declare readonly err: unknown;
  constructor(fields: FatalError) {
    super(fields);
  }
}

/** The remote peer sent a media track. */
export class Track extends PeerEvent {
  declare readonly track: MediaStreamTrackLike;
  declare readonly streams: readonly MediaStreamLike[];
  /** The sender's metadata of this track, or `null`. */
  declare readonly metadata: JsonObject | null;
  constructor(fields: Track) {
    super(fields);
  }
}

/** A stream id appeared for the first time on this remote peer. */
export class StreamAdded extends PeerEvent {
  declare readonly stream: MediaStreamLike;
  declare readonly metadata: JsonObject | null;
  constructor(fields: StreamAdded) {
    super(fields);
  }
}

/** Every track of a previously seen stream has ended. */
export class StreamRemoved extends PeerEvent {
  declare readonly stream: MediaStreamLike;
  constructor(fields: StreamRemoved) {
    super(fields);
  }
}

/** The remote peer opened a data channel toward this one (wrap it in `DataChannel`). */
export class DataChannelOpened extends PeerEvent {
  declare readonly channel: RTCDataChannelLike;
  constructor(fields: DataChannelOpened) {
    super(fields);
  }
}

/** Offer/answer negotiation with this peer failed (or ICE restarts ran out). */
export class NegotiationError extends PeerEvent {
  declare readonly err: unknown;
  constructor(fields: NegotiationError) {
    super(fields);
  }
}

/** An inbound ICE candidate was rejected (usually benign). */
export class IceCandidateError extends PeerEvent {
  declare readonly err: unknown;
  constructor(fields: IceCandidateError) {
    super(fields);
  }
}

/** After a signalling reconnect this peer survived, and `pc` is a new peer connection. */
export class ConnectionReset extends PeerEvent {
  constructor() {
    super({});
  }
}
