import type { JsonObject, PresenceMember } from '@metered/protocol';

/** What a roster change means for the other members of the channel. */
export type RosterChange =
  /** The peer id was not present: announce `joined`. */
  | { readonly kind: 'joined'; readonly member: PresenceMember }
  /** The peer id was present through another socket: announce `left` for it, then `joined`. */
  | {
      readonly kind: 'replaced';
      readonly previous: PresenceMember;
      readonly member: PresenceMember;
    }
  /** The last socket of the peer id left: announce `left`. */
  | { readonly kind: 'left'; readonly member: PresenceMember }
  /** Nothing to announce. */
  | { readonly kind: 'none' };

interface PeerEntry {
  /** The peer's sockets in this channel, oldest first. */
  readonly connectionIds: Set<string>;
  member: PresenceMember;
}

function memberOf(peerId: string, metadata: JsonObject | undefined): PresenceMember {
  return metadata === undefined ? { peerId } : { peerId, metadata };
}

/**
 * A channel's presence roster, per peer id: a peer id is present while at least one of its
 * sockets is subscribed (and visible). A second socket of a present peer id replaces the entry
 * (members see `left` for the old one before `joined` for the new one, so a reconnect that beats
 * the old socket's close still gives them a fresh peer). The peer id leaves when its last
 * socket goes. The memory broker keeps one per channel; the Redis broker keeps its rosters in
 * Redis (`broker/redis/redis-scripts.ts`).
 */
export class PresenceRoster {
  private readonly peers = new Map<string, PeerEntry>();

  get size(): number {
    return this.peers.size;
  }

  has(peerId: string): boolean {
    return this.peers.has(peerId);
  }

  add(connectionId: string, peerId: string, metadata: JsonObject | undefined): RosterChange {
    const member = memberOf(peerId, metadata);
    const entry = this.peers.get(peerId);
    if (!entry) {
      this.peers.set(peerId, { connectionIds: new Set([connectionId]), member });
      return { kind: 'joined', member };
    }
    if (entry.connectionIds.has(connectionId)) return { kind: 'none' };
    entry.connectionIds.add(connectionId);
    const previous = entry.member;
    entry.member = member;
    return { kind: 'replaced', previous, member };
  }

  remove(connectionId: string, peerId: string): RosterChange {
    const entry = this.peers.get(peerId);
    if (!entry || !entry.connectionIds.delete(connectionId)) return { kind: 'none' };
    if (entry.connectionIds.size > 0) return { kind: 'none' };
    this.peers.delete(peerId);
    return { kind: 'left', member: entry.member };
  }

  /** Every present peer, optionally without one peer id (the asking subscriber's own). */
  members(exceptPeerId?: string): PresenceMember[] {
    const members: PresenceMember[] = [];
    for (const [peerId, entry] of this.peers) {
      if (peerId !== exceptPeerId) members.push(entry.member);
    }
    return members;
  }
}
