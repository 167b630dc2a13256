// The bus is cut into shards, each app's events on one of them: the channel messages, presence
// deltas and app-wide closes on the shard's bus channel, the directs, snapshots and kicks on the
// shard's channel in each node's inbox. A node reads every shard on a subscriber connection of
// its own, so all the events of one app arrive in Redis's order on one connection (the ordering
// rules hold per app), and when Redis drops one of them (a flooding app overflowed its output
// buffer) only the sockets of that shard's apps are closed. TypeScript and Lua compute the same
// shard: a hash of the app id's UTF-8 bytes.

/** The shard of an app, in [0, shards). */
export function shardOf(appId: string, shards: number): number {
  if (shards === 1) return 0;
  let hash = 0;
  for (const byte of Buffer.from(appId, 'utf8')) hash = (hash * 31 + byte) % 65_536;
  return hash % shards;
}

/** A shard's bus channel; with one shard, `P:bus`. */
export function busChannel(prefix: string, shard: number, shards: number): string {
  return shards === 1 ? `${prefix}:bus` : `${prefix}:bus:${shard}`;
}

/** A shard's channel in a node's inbox; with one shard, `P:inbox:<node>`. */
export function inboxChannel(prefix: string, node: string, shard: number, shards: number): string {
  return shards === 1 ? `${prefix}:inbox:${node}` : `${prefix}:inbox:${node}:${shard}`;
}

/** The same in Lua, for the scripts (which define `P` and `SHARDS` before it). */
export const LUA_BUS_SHARDS = `
local function shardOf(app)
  if SHARDS == 1 then return 0 end
  local hash = 0
  for i = 1, #app do hash = (hash * 31 + string.byte(app, i)) % 65536 end
  return hash % SHARDS
end
local function busOf(app)
  if SHARDS == 1 then return P .. ':bus' end
  return P .. ':bus:' .. shardOf(app)
end
local function inboxOf(node, app)
  if SHARDS == 1 then return P .. ':inbox:' .. node end
  return P .. ':inbox:' .. node .. ':' .. shardOf(app)
end
`;
