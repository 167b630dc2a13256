/** The states of a `MeteredPeer`: `idle → joining → joined ⇄ reconnecting → leaving → closed`. */
export type MeteredPeerState =
  'idle' | 'joining' | 'joined' | 'reconnecting' | 'leaving' | 'closed';

/** The states of a `RemotePeer`: `idle → connecting → connected ⇄ reconnecting → closed`. */
export type RemotePeerState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';
