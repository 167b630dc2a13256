import type { JsonObject, PresenceMember } from '@metered/protocol';
import type { ChannelMessage, DirectMessage } from '../broker.js';

// The events on the Redis bus and the node inboxes: one JSON object per Redis message, with
// short keys (they cross the network per message). The types below are the one definition of the
// format: the events the TypeScript side publishes are encoded here, and the two the Lua scripts
// publish (a presence delta and a presence snapshot, built inside the atomic roster change) come
// from `LUA_BUS_EVENTS`, whose field names and tags are checked against these types.

/** A channel message, on the bus. `x` is the publishing connection, which does not receive it. */
export interface MessageEvent {
  readonly t: 'm';
  readonly a: string;
  readonly c: string;
  readonly f: string;
  readonly d?: unknown;
  readonly md?: JsonObject | undefined;
  readonly x?: string | undefined;
  /** Extension `recovery`: the message's offset and epoch, added by the publish script. */
  readonly o?: number;
  readonly e?: string;
}

/** A presence delta, on the bus: `j` joined, `l` left, `r` replaced (`pm` leaves, `m` joins). */
export interface PresenceEvent {
  readonly t: 'p';
  readonly a: string;
  readonly c: string;
  readonly p: string;
  readonly k: 'j' | 'l' | 'r';
  readonly m: PresenceMember;
  readonly pm?: PresenceMember;
}

/** A direct message, in the inbox of each node that holds a socket of the target peer id. */
export interface DirectEvent {
  readonly t: 'd';
  readonly a: string;
  readonly to: string;
  readonly f: string;
  readonly d?: unknown;
  readonly md?: JsonObject | undefined;
}

/** The roster a subscriber gets, in its node's inbox; `k` is the token of the pending subscribe. */
export interface SnapshotEvent {
  readonly t: 's';
  readonly k: string;
  readonly m: PresenceMember[];
  /** Extension `recovery`: the channel's position (offset, epoch) when subscribed. */
  readonly o?: number;
  readonly e?: string;
  /** With `since`: 1 when the replay (in the script's reply) fills the gap, else 0. */
  readonly r?: 0 | 1;
  /** The subscriber's own peer id's roster entry, when it has one (`m` leaves it out). */
  readonly sm?: PresenceMember;
}

/** Closes every socket of a peer id (REST kick), in the inboxes of its nodes. */
export interface ClosePeerEvent {
  readonly t: 'kp';
  readonly a: string;
  readonly p: string;
  readonly code: number;
  readonly r: string;
}

/** Closes every socket of an app (suspension), on the bus. */
export interface CloseAppEvent {
  readonly t: 'ka';
  readonly a: string;
  readonly code: number;
  readonly r: string;
}

/**
 * Extension `resume`: a held session was claimed (on any node), in the inbox of the node that
 * held it, which forgets it without a departure.
 */
export interface SessionClaimedEvent {
  readonly t: 'rc';
  readonly a: string;
  readonly c: string;
  /** The node session that claimed it (which handles its own claims itself). */
  readonly n: string;
}

/**
 * Marks, in a node's inbox of one bus shard, the step in which the node read what it missed while
 * that shard was not read (bus-catch-up.ts): events before it are reflected in that read.
 */
export interface CatchUpMarkEvent {
  readonly t: 'cm';
  readonly k: string;
}

export type BusEvent =
  | MessageEvent
  | CatchUpMarkEvent
  | PresenceEvent
  | DirectEvent
  | SnapshotEvent
  | ClosePeerEvent
  | CloseAppEvent
  | SessionClaimedEvent;

export function encodeMessageEvent(appId: string, message: ChannelMessage): string {
  return JSON.stringify({
    t: 'm',
    a: appId,
    c: message.channel,
    f: message.from,
    d: message.data,
    md: message.fromMetadata,
    x: message.excludeConnectionId,
  } satisfies MessageEvent);
}

export function encodeDirectEvent(appId: string, message: DirectMessage): string {
  return JSON.stringify({
    t: 'd',
    a: appId,
    to: message.to,
    f: message.from,
    d: message.data,
    md: message.fromMetadata,
  } satisfies DirectEvent);
}

export function encodeClosePeerEvent(
  appId: string,
  peerId: string,
  code: number,
  reason: string,
): string {
  return JSON.stringify({ t: 'kp', a: appId, p: peerId, code, r: reason } satisfies ClosePeerEvent);
}

export function encodeCloseAppEvent(appId: string, code: number, reason: string): string {
  return JSON.stringify({ t: 'ka', a: appId, code, r: reason } satisfies CloseAppEvent);
}

/** The event of one Redis message; undefined when it is not JSON. */
export function parseBusEvent(text: string): BusEvent | undefined {
  try {
    return JSON.parse(text) as BusEvent;
  } catch {
    return undefined;
  }
}

/** A field name of an event type as a JSON key in Lua source (`"a"`), checked against the type. */
function key<E extends BusEvent>(name: keyof E & string): string {
  return JSON.stringify(name);
}

/** An event's tag as a JSON value in Lua source (`"p"`), checked against the type. */
function tag<E extends BusEvent>(value: E['t']): string {
  return JSON.stringify(value);
}

const PRESENCE_KIND = {
  JOINED: 'j',
  LEFT: 'l',
  REPLACED: 'r',
} as const satisfies Record<string, PresenceEvent['k']>;

/**
 * Lua builders of the events the scripts publish. `presenceEvent(app, channel, peer, kind,
 * member, previous)` takes member JSON as stored in the roster and one of `JOINED`, `LEFT`,
 * `REPLACED`; `snapshotEvent(token, members, offset, epoch, recovered, own)` takes a list of member JSON strings
 * (and the subscriber's own entry, if any); `catchUpMarkEvent(token)` marks a catch-up read; `claimedEvent(app, conn, node)`
 * tells a node that its held (or live) session was claimed by `node`.
 */
export const LUA_BUS_EVENTS = `
local JOINED, LEFT, REPLACED = '${PRESENCE_KIND.JOINED}', '${PRESENCE_KIND.LEFT}', '${PRESENCE_KIND.REPLACED}'
local function presenceEvent(app, channel, peer, kind, member, previous)
  local event = '{${key<PresenceEvent>('t')}:${tag<PresenceEvent>('p')},${key<PresenceEvent>('a')}:' .. cjson.encode(app) ..
    ',${key<PresenceEvent>('c')}:' .. cjson.encode(channel) ..
    ',${key<PresenceEvent>('p')}:' .. cjson.encode(peer) ..
    ',${key<PresenceEvent>('k')}:"' .. kind .. '",${key<PresenceEvent>('m')}:' .. member
  if previous then event = event .. ',${key<PresenceEvent>('pm')}:' .. previous end
  return event .. '}'
end
local function claimedEvent(app, conn, node)
  return '{${key<SessionClaimedEvent>('t')}:${tag<SessionClaimedEvent>('rc')},${key<SessionClaimedEvent>('a')}:' .. cjson.encode(app) ..
    ',${key<SessionClaimedEvent>('c')}:' .. cjson.encode(conn) ..
    ',${key<SessionClaimedEvent>('n')}:' .. cjson.encode(node) .. '}'
end
local function snapshotEvent(token, members, offset, epoch, recovered, own)
  local event = '{${key<SnapshotEvent>('t')}:${tag<SnapshotEvent>('s')},${key<SnapshotEvent>('k')}:"' .. token ..
    '",${key<SnapshotEvent>('m')}:[' .. table.concat(members, ',') .. ']'
  if own then event = event .. ',${key<SnapshotEvent>('sm')}:' .. own end
  if offset then
    event = event .. ',${key<SnapshotEvent>('o')}:' .. offset .. ',${key<SnapshotEvent>('e')}:"' .. epoch .. '"'
  end
  if recovered then event = event .. ',${key<SnapshotEvent>('r')}:' .. recovered end
  return event .. '}'
end
local function catchUpMarkEvent(token)
  return '{${key<CatchUpMarkEvent>('t')}:${tag<CatchUpMarkEvent>('cm')},${key<CatchUpMarkEvent>('k')}:' .. cjson.encode(token) .. '}'
end
local function withPosition(event, offset, epoch)
  return string.sub(event, 1, -2) .. ',${key<MessageEvent>('o')}:' .. offset .. ',${key<MessageEvent>('e')}:"' .. epoch .. '"}'
end
`;
