import type { PresenceMember, StreamPosition } from '@metered/protocol';
import type { HistoryPolicy } from '../../history/history-types.js';
import type { MessageEvent, PresenceEvent, SnapshotEvent } from './bus-events.js';

/**
 * What this node's subscribers of one channel were given, kept so that a node can make them
 * whole after a bus shard was not read for a while (bus-catch-up.ts): the channel's history
 * policy, the position of the newest message delivered, and the roster as they know it. Every
 * local subscriber of a channel knows the same roster, but for its own peer id: the snapshot it
 * got on subscribing (every member but its own peer id, in Redis's order on the shard's
 * connection) and every presence change after it, its own peer id's left out.
 */
export interface ChannelContinuity {
  /** The channel's history, as its latest subscribe asked for it; undefined: none. */
  history: HistoryPolicy | undefined;
  /** The position of the newest message delivered (or of the latest snapshot). */
  position: StreamPosition | undefined;
  /** A message without a position was delivered: its history does not hold every message. */
  unpositioned: boolean;
  /** Peer id → member, as the local subscribers know the roster. */
  readonly roster: Map<string, PresenceMember>;
}

/** The state after a subscriber's snapshot: the roster in Redis at that step, the position. */
export function continuityAfterSnapshot(
  previous: ChannelContinuity | undefined,
  event: SnapshotEvent,
  history: HistoryPolicy | undefined,
): ChannelContinuity {
  const continuity = previous ?? {
    history,
    position: undefined,
    unpositioned: false,
    roster: new Map<string, PresenceMember>(),
  };
  continuity.history = history;
  continuity.roster.clear();
  for (const member of event.m) continuity.roster.set(member.peerId, member);
  if (event.sm !== undefined) continuity.roster.set(event.sm.peerId, event.sm);
  if (event.o !== undefined) notePosition(continuity, event.o, event.e as string);
  return continuity;
}

/** Records a message's position; false when it was delivered already (offset not past it). */
export function noteMessage(continuity: ChannelContinuity, event: MessageEvent): boolean {
  if (event.o === undefined) {
    continuity.unpositioned = true;
    return true;
  }
  return notePosition(continuity, event.o, event.e as string);
}

function notePosition(continuity: ChannelContinuity, offset: number, epoch: string): boolean {
  const { position } = continuity;
  if (position !== undefined && position.epoch === epoch && offset <= position.offset) return false;
  continuity.position = { offset, epoch };
  return true;
}

/** Applies a presence change to the roster the subscribers know. */
export function notePresence(continuity: ChannelContinuity, event: PresenceEvent): void {
  if (event.k === 'l') continuity.roster.delete(event.p);
  else continuity.roster.set(event.p, event.m);
}

/** The changes from the roster the subscribers know to `members`, now the roster known. */
export interface RosterChange {
  readonly joined: PresenceMember[];
  readonly left: PresenceMember[];
}

/**
 * Moves the known roster to `members` (the roster read from Redis) and returns the change: a
 * member whose entry differs leaves (its known entry) and joins (its new one), as a replaced
 * member does live.
 */
export function syncRoster(
  continuity: ChannelContinuity,
  members: readonly PresenceMember[],
): RosterChange {
  const joined: PresenceMember[] = [];
  const left: PresenceMember[] = [];
  const next = new Map(members.map((member) => [member.peerId, member]));
  for (const [peerId, known] of continuity.roster) {
    const member = next.get(peerId);
    if (member === undefined) left.push(known);
    else if (JSON.stringify(member) !== JSON.stringify(known)) {
      left.push(known);
      joined.push(member);
    }
  }
  for (const [peerId, member] of next) {
    if (!continuity.roster.has(peerId)) joined.push(member);
  }
  continuity.roster.clear();
  for (const [peerId, member] of next) continuity.roster.set(peerId, member);
  return { joined, left };
}
