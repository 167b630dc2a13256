import { PeerEvent } from './events.js';
import type { RemotePeer } from './remote-peer.js';

/** Another peer is in the channel. */
export class PeerJoined extends PeerEvent {
  declare readonly peer: RemotePeer;
  constructor(fields: PeerJoined) {
    super(fields);
  }
}

/** Another peer left the channel (or dropped). */
export class PeerLeft extends PeerEvent {
  declare readonly peer: RemotePeer;
  constructor(fields: PeerLeft) {
    super(fields);
  }
}
