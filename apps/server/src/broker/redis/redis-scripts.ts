// Lua scripts of the Redis broker, in one file (over 450 lines) because they share the key layout
// below and read best beside each other. Each runs atomically, so a roster change and the events it
// publishes are one step in Redis's global order. Keys are computed inside the scripts from the
// prefix (ARGV[1]): the broker targets one Redis server (or a primary with replicas), not Redis
// Cluster. The events they publish are built by `LUA_BUS_EVENTS` (bus-events.ts).
//
// Layout (A = "<length of app id>:<app id>", so app and channel names cannot collide):
//   P:nodes                  set of live node sessions
//   P:lease:<node>           a node's lease (expires unless renewed)
//   P:node:<node>            hash connection id → A .. peer id (what to remove if the node dies)
//   P:app:<A>                hash c (concurrent), k (peak), qp (quota period), qu (messages used)
//   P:appconns:<A>           hash connection id → node
//   P:acq:<token>            '1' a connect's slot taken, '0' given back (expires)
//   P:gone:<connection>      a connection given up while attaching (expires)
//   P:peer:<A>:<peer>        hash connection id → node (direct routing, kicks); for a held
//                            session 'h' .. max kept directs .. ':' .. node
//   P:cc:<connection>        set of the connection's channels
//   P:resume:<credential>    a held session (extension resume): JSON {c, a, p, b}, expiring with its window
//   P:hd:<connection>        list of the directs (events) kept for a held session
//   P:rk:<connection>        the credential registered last by a live connection
//   P:subs:<A>:<channel>     hash connection id → visible flag ('1'/'0') .. peer id
//   P:roster:<A>:<channel>   hash peer id → member JSON
//   P:rn:<A>:<channel>       hash peer id → number of visible subscribed sockets
//   P:hm:<A>:<channel>       hash e (epoch), o (last offset) of a channel's history (expires)
//   P:hl:<A>:<channel>       list of the channel's recent messages, "<ms>|<event>" (expires)
//   P:idem:<A>:<n>:<peer>:<key>  an idempotency key of a sender (expires with its window)
//   P:iq:<node>              hash app → directs and kicks sent to the node's inbox and app-wide
//                            closes sent on the bus while it was a node (what a catch-up checks)
//   P:bus:<shard>            pub/sub: channel messages, presence deltas, app-wide closes
//   P:inbox:<node>:<shard>   pub/sub: directs, snapshots and kicks for one node
// Each app's events go through one shard of the bus (bus-shards.ts); with one shard the pub/sub
// channels are P:bus and P:inbox:<node>.

import { LUA_BUS_EVENTS } from './bus-events.js';
import { LUA_BUS_SHARDS } from './bus-shards.js';

const SHARDS_PLACEHOLDER = '__BUS_SHARDS__';

const COMMON = `
local P = ARGV[1]
local SHARDS = ${SHARDS_PLACEHOLDER}
local function appKey(app) return #app .. ':' .. app end
${LUA_BUS_SHARDS}
${LUA_BUS_EVENTS}
local function presence(app, channel, peer, kind, member, previous)
  redis.call('PUBLISH', busOf(app), presenceEvent(app, channel, peer, kind, member, previous))
end
local function leave(app, channel, conn)
  local a = appKey(app)
  local subs = P .. ':subs:' .. a .. ':' .. channel
  local value = redis.call('HGET', subs, conn)
  if not value then return end
  redis.call('HDEL', subs, conn)
  if string.sub(value, 1, 1) == '1' then
    local peer = string.sub(value, 2)
    local counts = P .. ':rn:' .. a .. ':' .. channel
    if redis.call('HINCRBY', counts, peer, -1) <= 0 then
      redis.call('HDEL', counts, peer)
      local roster = P .. ':roster:' .. a .. ':' .. channel
      local member = redis.call('HGET', roster, peer)
      redis.call('HDEL', roster, peer)
      if member then presence(app, channel, peer, LEFT, member) end
    end
  end
end
local function idemKey(a, from, key) return P .. ':idem:' .. a .. ':' .. #from .. ':' .. from .. ':' .. key end
local function claim(a, from, key, windowMs)
  if key == '' then return true end
  return redis.call('SET', idemKey(a, from, key), '1', 'PX', windowMs, 'NX')
end
-- Counts one message in the app's quota period: the messages used in it, this one included.
local function countMessage(a, periodStart)
  local key = P .. ':app:' .. a
  if redis.call('HGET', key, 'qp') ~= periodStart then
    redis.call('HSET', key, 'qp', periodStart, 'qu', 0)
  end
  return redis.call('HINCRBY', key, 'qu', 1)
end
-- Before a counted publish or direct: -1 when the idempotency key was used (not counted), -2
-- when the quota of the period is exhausted (counted), nil to go on. periodStart '' counts nothing.
local function refusal(a, from, key, periodStart, limit)
  if key ~= '' and redis.call('EXISTS', idemKey(a, from, key)) == 1 then return -1 end
  if periodStart ~= '' and countMessage(a, periodStart) > tonumber(limit) then return -2 end
  return nil
end
-- A channel's history stream: its keys, epoch and last offset; a new epoch when it was lost.
local function stream(a, channel, candidate, retentionMs)
  local meta = P .. ':hm:' .. a .. ':' .. channel
  local list = P .. ':hl:' .. a .. ':' .. channel
  local epoch = redis.call('HGET', meta, 'e')
  if not epoch then
    epoch = candidate
    redis.call('DEL', list)
    redis.call('HSET', meta, 'e', epoch, 'o', 0)
    redis.call('PEXPIRE', meta, retentionMs)
  end
  return meta, list, epoch, tonumber(redis.call('HGET', meta, 'o'))
end
-- The newest \`limit\` kept messages after \`since\` (nil: from the oldest kept), and 1 when they
-- are every message after it. With \`wholeOnly\`, nothing unless they are.
local function readHistory(list, epoch, offset, since, sinceEpoch, limit, oldestKept, wholeOnly)
  local length = redis.call('LLEN', list)
  if since and sinceEpoch ~= epoch then return 0, {} end
  local from = since or (offset - length)
  local missing = offset - from
  if missing < 0 then return 0, {} end
  if wholeOnly and (missing > limit or missing > length) then return 0, {} end
  local count = math.min(missing, limit, length)
  local entries = {}
  if count > 0 then entries = redis.call('LRANGE', list, -count, -1) end
  local first = 1
  while first <= #entries and tonumber(string.match(entries[first], '^(%d+)|')) <= oldestKept do
    first = first + 1
  end
  if first > 1 then
    local kept = {}
    for i = first, #entries do kept[#kept + 1] = entries[i] end
    entries = kept
  end
  local whole = 0
  if missing <= limit and #entries == missing then whole = 1 end
  if wholeOnly and whole == 0 then return 0, {} end
  return whole, entries
end
local function release(app)
  local key = P .. ':app:' .. appKey(app)
  if redis.call('HINCRBY', key, 'c', -1) < 0 then redis.call('HSET', key, 'c', 0) end
end
local function forgetCredential(conn)
  local rk = P .. ':rk:' .. conn
  local credential = redis.call('GET', rk)
  if not credential then return end
  local key = P .. ':resume:' .. credential
  local raw = redis.call('GET', key)
  if raw and cjson.decode(raw).c == conn then redis.call('DEL', key) end
  redis.call('DEL', rk)
end
local function detach(node, conn, app, peer)
  if redis.call('HDEL', P .. ':node:' .. node, conn) == 0 then return 0 end
  forgetCredential(conn)
  local a = appKey(app)
  local cc = P .. ':cc:' .. conn
  for _, channel in ipairs(redis.call('SMEMBERS', cc)) do leave(app, channel, conn) end
  redis.call('DEL', cc, P .. ':hd:' .. conn)
  redis.call('HDEL', P .. ':peer:' .. a .. ':' .. peer, conn)
  redis.call('HDEL', P .. ':appconns:' .. a, conn)
  release(app)
  return 1
end
local function reap(node)
  local entries = redis.call('HGETALL', P .. ':node:' .. node)
  local removed = 0
  for i = 1, #entries, 2 do
    local value = entries[i + 1]
    local colon = string.find(value, ':', 1, true)
    local length = tonumber(string.sub(value, 1, colon - 1))
    local app = string.sub(value, colon + 1, colon + length)
    local peer = string.sub(value, colon + length + 1)
    removed = removed + detach(node, entries[i], app, peer)
  end
  redis.call('DEL', P .. ':node:' .. node, P .. ':lease:' .. node, P .. ':iq:' .. node)
  redis.call('SREM', P .. ':nodes', node)
  return removed
end
`;

/** Script bodies, all with `numberOfKeys: 0`; ARGV[1] is the key prefix. */
/**
 * The end of a script that routes `ARGV[4]` (an event of app `ARGV[2]`) to the sockets in
 * `entries` (a peer's `HGETALL`): once to each node, or into a held session's list of kept
 * directs when `kind` is `'d'`; returns how many sockets got it.
 */
function routeToPeer(kind: string): string {
  return `local nodes = {}
local receivers = 0
for i = 1, #entries, 2 do
  local node = entries[i + 1]
  local max, heldOn = string.match(node, '^h(%d+):(.+)$')
  if heldOn and ${kind} == 'd' then
    local kept = P .. ':hd:' .. entries[i]
    if redis.call('LLEN', kept) < tonumber(max) then
      redis.call('RPUSH', kept, ARGV[4])
      redis.call('PEXPIRE', kept, 600000)
      receivers = receivers + 1
    end
  else
    node = heldOn or node
    if not nodes[node] then
      nodes[node] = true
      redis.call('HINCRBY', P .. ':iq:' .. node, ARGV[2], 1)
      redis.call('PUBLISH', inboxOf(node, ARGV[2]), ARGV[4])
    end
    receivers = receivers + 1
  end
end
return receivers`;
}

const REDIS_SCRIPTS = {
  /** ARGV: P, node, leaseMs → registers a node session with its lease. */
  meteredRegister: `${COMMON}
redis.call('SADD', P .. ':nodes', ARGV[2])
redis.call('SET', P .. ':lease:' .. ARGV[2], '1', 'PX', ARGV[3])
return 1`,

  /** ARGV: P, node, leaseMs → 1 renewed, 0 the session was reaped meanwhile. */
  meteredHeartbeat: `${COMMON}
if redis.call('SISMEMBER', P .. ':nodes', ARGV[2]) == 0 then return 0 end
redis.call('SET', P .. ':lease:' .. ARGV[2], '1', 'PX', ARGV[3])
return 1`,

  /** ARGV: P → removes every node session whose lease expired; returns the sockets removed. */
  meteredSweep: `${COMMON}
local removed = 0
for _, node in ipairs(redis.call('SMEMBERS', P .. ':nodes')) do
  if redis.call('EXISTS', P .. ':lease:' .. node) == 0 then removed = removed + reap(node) end
end
return removed`,

  /** ARGV: P, node → removes a node session now (graceful close, or a superseded session). */
  meteredReap: `${COMMON}
return reap(ARGV[2])`,

  /**
   * ARGV: P, app, max, token, recordMs → 1 when a slot was taken, 0 at the cap or when the token
   * was given back already (`meteredUnacquire` ran first). The token records the slot for
   * `meteredUnacquire`.
   */
  meteredAcquire: `${COMMON}
local key = P .. ':app:' .. appKey(ARGV[2])
local token = P .. ':acq:' .. ARGV[4]
if redis.call('EXISTS', token) == 1 then return 0 end
local current = tonumber(redis.call('HGET', key, 'c') or '0')
if current >= tonumber(ARGV[3]) then return 0 end
current = redis.call('HINCRBY', key, 'c', 1)
if current > tonumber(redis.call('HGET', key, 'k') or '0') then redis.call('HSET', key, 'k', current) end
redis.call('SET', token, '1', 'PX', ARGV[5])
return 1`,

  /**
   * ARGV: P, app, token, recordMs → gives back the slot of a `meteredAcquire` whose reply was
   * lost, whether it ran already or runs later. Idempotent.
   */
  meteredUnacquire: `${COMMON}
local token = P .. ':acq:' .. ARGV[3]
if redis.call('GET', token) == '1' then release(ARGV[2]) end
redis.call('SET', token, '0', 'PX', ARGV[4])
return 1`,

  /** ARGV: P, app. */
  meteredRelease: `${COMMON}
release(ARGV[2])
return 1`,

  /**
   * ARGV: P, node, connection, app, peer → 1, 0 when the node session is gone, 2 when the
   * connection was abandoned already (`meteredAbandon` ran first and gave its slot back).
   */
  meteredAttach: `${COMMON}
local node, conn, app, peer = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('EXISTS', P .. ':gone:' .. conn) == 1 then return 2 end
if redis.call('SISMEMBER', P .. ':nodes', node) == 0 then return 0 end
local a = appKey(app)
redis.call('HSET', P .. ':node:' .. node, conn, a .. peer)
redis.call('HSET', P .. ':peer:' .. a .. ':' .. peer, conn, node)
redis.call('HSET', P .. ':appconns:' .. a, conn, node)
return 1`,

  /** ARGV: P, node, connection, app, peer → 1 removed, 0 already gone. */
  meteredDetach: `${COMMON}
return detach(ARGV[2], ARGV[3], ARGV[4], ARGV[5])`,

  /**
   * ARGV: P, node, connection, app, peer, recordMs → undoes a `meteredAttach` whose reply was
   * lost, whether it ran already or runs later, and gives back the connection's slot. When the
   * node session was removed meanwhile its removal gave the slot back if the attach had run;
   * nothing is given back then (never twice). Idempotent.
   */
  meteredAbandon: `${COMMON}
local node, conn, app, peer = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if not redis.call('SET', P .. ':gone:' .. conn, '1', 'PX', ARGV[6], 'NX') then return 0 end
if detach(node, conn, app, peer) == 1 then return 1 end
if redis.call('SISMEMBER', P .. ':nodes', node) == 1 then release(app) end
return 1`,

  /**
   * ARGV: P, node, connection, app, peer, visible ('1'/'0'), channel, member JSON, token,
   * history ('1'/'0'), since offset ('' none), since epoch, max replay, now, ttlMs, epoch
   * candidate, retentionMs. Records the subscriber, publishes the roster change on the bus and
   * the snapshot (every member but the subscriber's peer id; with history the channel's position
   * and, with `since`, whether it recovers) to the subscriber's node inbox. Returns 0 when the
   * connection is gone, else {1, replayed entries...}: read in the same step as the position,
   * so the replay and the live messages after the snapshot neither overlap nor leave a gap.
   */
  meteredSubscribe: `${COMMON}
local node, conn, app, peer, visible, channel, member, token =
  ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
if redis.call('HEXISTS', P .. ':node:' .. node, conn) == 0 then return 0 end
local a = appKey(app)
local subs = P .. ':subs:' .. a .. ':' .. channel
local roster = P .. ':roster:' .. a .. ':' .. channel
if redis.call('HEXISTS', subs, conn) == 0 then
  redis.call('HSET', subs, conn, visible .. peer)
  redis.call('SADD', P .. ':cc:' .. conn, channel)
  if visible == '1' then
    redis.call('HINCRBY', P .. ':rn:' .. a .. ':' .. channel, peer, 1)
    local previous = redis.call('HGET', roster, peer)
    redis.call('HSET', roster, peer, member)
    if previous then presence(app, channel, peer, REPLACED, member, previous)
    else presence(app, channel, peer, JOINED, member) end
  end
end
local entries = redis.call('HGETALL', roster)
local members = {}
local own
for i = 1, #entries, 2 do
  if entries[i] ~= peer then members[#members + 1] = entries[i + 1] else own = entries[i + 1] end
end
local reply = {1}
local offset, epoch, recovered
if ARGV[10] == '1' then
  local meta, list
  meta, list, epoch, offset = stream(a, channel, ARGV[16], ARGV[17])
  if ARGV[11] ~= '' then
    local replay
    recovered, replay = readHistory(list, epoch, offset, tonumber(ARGV[11]), ARGV[12],
      tonumber(ARGV[13]), tonumber(ARGV[14]) - tonumber(ARGV[15]), true)
    for i = 1, #replay do reply[#reply + 1] = replay[i] end
  end
end
redis.call('PUBLISH', inboxOf(node, app), snapshotEvent(token, members, offset, epoch, recovered, own))
return reply`,

  /** ARGV: P, connection, app, channel. */
  meteredUnsubscribe: `${COMMON}
leave(ARGV[3], ARGV[4], ARGV[2])
redis.call('SREM', P .. ':cc:' .. ARGV[2], ARGV[4])
return 1`,

  /**
   * ARGV: P, app, channel, excluded connection id ('' = none), event, history ('1'/'0'), size,
   * ttlMs, retentionMs, now, epoch candidate, idempotency key ('' none), windowMs, from, quota
   * period start ('' none), quota limit → receivers, or -1 for a duplicate, -2 over the quota.
   * With history the message takes the next offset (one order for every node) and is kept, in
   * the same step as its publication.
   */
  meteredPublish: `${COMMON}
local a = appKey(ARGV[2])
local refused = refusal(a, ARGV[14], ARGV[12], ARGV[15], ARGV[16])
if refused then return refused end
if not claim(a, ARGV[14], ARGV[12], ARGV[13]) then return -1 end
local event = ARGV[5]
if ARGV[6] == '1' then
  local meta, list, epoch = stream(a, ARGV[3], ARGV[11], ARGV[9])
  local offset = redis.call('HINCRBY', meta, 'o', 1)
  redis.call('PEXPIRE', meta, ARGV[9])
  event = withPosition(event, offset, epoch)
  redis.call('RPUSH', list, ARGV[10] .. '|' .. event)
  redis.call('LTRIM', list, -tonumber(ARGV[7]), -1)
  redis.call('PEXPIRE', list, ARGV[8])
end
local subs = P .. ':subs:' .. a .. ':' .. ARGV[3]
local receivers = redis.call('HLEN', subs)
if receivers == 0 then return 0 end
if ARGV[4] ~= '' and redis.call('HEXISTS', subs, ARGV[4]) == 1 then receivers = receivers - 1 end
redis.call('PUBLISH', busOf(ARGV[2]), event)
return receivers`,

  /**
   * ARGV: P, app, channel, since offset ('' none), since epoch, limit, now, ttlMs, epoch
   * candidate, retentionMs → {offset, epoch, recovered (0/1), entries...}.
   */
  meteredHistory: `${COMMON}
local meta, list, epoch, offset = stream(appKey(ARGV[2]), ARGV[3], ARGV[9], ARGV[10])
local since = nil
if ARGV[4] ~= '' then since = tonumber(ARGV[4]) end
local recovered, entries = readHistory(list, epoch, offset, since, ARGV[5], tonumber(ARGV[6]),
  tonumber(ARGV[7]) - tonumber(ARGV[8]), false)
local reply = {offset, epoch, recovered}
for i = 1, #entries do reply[#reply + 1] = entries[i] end
return reply`,

  /**
   * ARGV: P, app, peer, event, idempotency key, windowMs, from, quota period start ('' none),
   * quota limit → sockets of the peer that got it (as {@link meteredToPeer} counts them), or -1
   * for a duplicate, -2 over the quota; the key is claimed only when the peer is online (or held).
   */
  meteredDirect: `${COMMON}
local a = appKey(ARGV[2])
local refused = refusal(a, ARGV[7], ARGV[5], ARGV[8], ARGV[9])
if refused then return refused end
local entries = redis.call('HGETALL', P .. ':peer:' .. a .. ':' .. ARGV[3])
if #entries == 0 then return 0 end
if not claim(a, ARGV[7], ARGV[5], ARGV[6]) then return -1 end
${routeToPeer("'d'")}`,

  /**
   * ARGV: P, app, peer, event, kind ('d' a direct, 'k' a kick), quota period start ('' or
   * absent: none), quota limit → sockets of the peer that got it (the event goes once to each of
   * their nodes), or -2 over the quota. A held session keeps a direct in its list while the list
   * is under its bound (and then counts), and a kick goes to its node.
   */
  meteredToPeer: `${COMMON}
if (ARGV[6] or '') ~= '' and countMessage(appKey(ARGV[2]), ARGV[6]) > tonumber(ARGV[7]) then
  return -2
end
local entries = redis.call('HGETALL', P .. ':peer:' .. appKey(ARGV[2]) .. ':' .. ARGV[3])
${routeToPeer('ARGV[5]')}`,

  /**
   * ARGV: P, node, connection, app, peer, credential, binding → 1 when the live connection's
   * session can now be claimed with the credential (the one it registered before no longer
   * works), 0 when the connection is gone.
   */
  meteredRegisterResume: `${COMMON}
local node, conn, app, peer, credential, binding =
  ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if redis.call('HEXISTS', P .. ':node:' .. node, conn) == 0 then return 0 end
forgetCredential(conn)
redis.call('SET', P .. ':resume:' .. credential,
  cjson.encode({ c = conn, a = app, p = peer, b = binding }))
redis.call('SET', P .. ':rk:' .. conn, credential)
return 1`,

  /**
   * ARGV: P, node, connection, app, peer, credential, binding, windowMs, maxDirects → 1 when the
   * connection is held (its directs are kept from now on and the credential claims it), 0 when
   * the connection is gone.
   */
  meteredHold: `${COMMON}
local node, conn, app, peer, credential, binding, windowMs, max =
  ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
if redis.call('HEXISTS', P .. ':node:' .. node, conn) == 0 then return 0 end
redis.call('HSET', P .. ':peer:' .. appKey(app) .. ':' .. peer, conn, 'h' .. max .. ':' .. node)
redis.call('SET', P .. ':resume:' .. credential,
  cjson.encode({ c = conn, a = app, p = peer, b = binding }), 'PX', windowMs)
redis.call('SET', P .. ':rk:' .. conn, credential, 'PX', windowMs)
return 1`,

  /**
   * ARGV: P, node, connection, app, peer, credential → ends a hold unclaimed: the credential no
   * longer works and the connection is detached (members hear \`left\`). 0 when it was claimed
   * (it is no longer this node's) or is gone.
   */
  meteredEndHold: `${COMMON}
local node, conn, app, peer, credential = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local key = P .. ':resume:' .. credential
local held = redis.call('GET', key)
if held and cjson.decode(held).c == conn then redis.call('DEL', key) end
return detach(node, conn, app, peer)`,

  /**
   * ARGV: P, node, stand-in node, leaseMs, connection… → moves held connections of a leaving
   * node to a stand-in node session with its own lease (claims find them there; the sweep
   * removes them when it expires). Returns how many moved.
   */
  meteredHandOver: `${COMMON}
local node, standIn = ARGV[2], ARGV[3]
redis.call('SADD', P .. ':nodes', standIn)
redis.call('SET', P .. ':lease:' .. standIn, '1', 'PX', ARGV[4])
local moved = 0
for i = 5, #ARGV do
  local conn = ARGV[i]
  local entry = redis.call('HGET', P .. ':node:' .. node, conn)
  if entry then
    redis.call('HDEL', P .. ':node:' .. node, conn)
    redis.call('HSET', P .. ':node:' .. standIn, conn, entry)
    local colon = string.find(entry, ':', 1, true)
    local length = tonumber(string.sub(entry, 1, colon - 1))
    local app = string.sub(entry, colon + 1, colon + length)
    local peer = string.sub(entry, colon + length + 1)
    local a = appKey(app)
    redis.call('HSET', P .. ':appconns:' .. a, conn, standIn)
    local routes = P .. ':peer:' .. a .. ':' .. peer
    local route = redis.call('HGET', routes, conn)
    if route then
      local max = string.match(route, '^h(%d+):')
      redis.call('HSET', routes, conn, max and ('h' .. max .. ':' .. standIn) or standIn)
    end
    moved = moved + 1
  end
end
return moved`,

  /**
   * ARGV: P, node, credential, app, binding → claims a held (or live) session for a connection
   * on \`node\`, once: the record moves to \`node\` (it takes the held connection's id), the held slot is
   * given back, the holding node is told (\`claimedEvent\`). Returns {connection, peer, number
   * of channels, channels…, kept direct events…}, or nil when nothing matches.
   */
  meteredClaim: `${COMMON}
local node, credential, app, binding = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('SISMEMBER', P .. ':nodes', node) == 0 then return false end
local key = P .. ':resume:' .. credential
local raw = redis.call('GET', key)
if not raw then return false end
local held = cjson.decode(raw)
if held.a ~= app or held.b ~= binding then return false end
redis.call('DEL', key, P .. ':rk:' .. held.c)
local a = appKey(app)
local conn, peer = held.c, held.p
local previous = redis.call('HGET', P .. ':appconns:' .. a, conn)
if not previous then return false end
local entry = redis.call('HGET', P .. ':node:' .. previous, conn)
if not entry then return false end
redis.call('HDEL', P .. ':node:' .. previous, conn)
redis.call('HSET', P .. ':node:' .. node, conn, entry)
redis.call('HSET', P .. ':appconns:' .. a, conn, node)
redis.call('HSET', P .. ':peer:' .. a .. ':' .. peer, conn, node)
release(app)
local kept = P .. ':hd:' .. conn
local directs = redis.call('LRANGE', kept, 0, -1)
redis.call('DEL', kept)
redis.call('PUBLISH', inboxOf(previous, app), claimedEvent(app, conn, node))
local channels = redis.call('SMEMBERS', P .. ':cc:' .. conn)
local reply = { conn, peer, tostring(#channels) }
for _, channel in ipairs(channels) do reply[#reply + 1] = channel end
for _, direct in ipairs(directs) do reply[#reply + 1] = direct end
return reply`,

  /**
   * ARGV: P, app, event → sockets of the app (the event goes on the bus, counted for every
   * node).
   */
  meteredToApp: `${COMMON}
local count = redis.call('HLEN', P .. ':appconns:' .. appKey(ARGV[2]))
if count > 0 then
  for _, node in ipairs(redis.call('SMEMBERS', P .. ':nodes')) do
    redis.call('HINCRBY', P .. ':iq:' .. node, ARGV[2], 1)
  end
  redis.call('PUBLISH', busOf(ARGV[2]), ARGV[3])
end
return count`,

  /**
   * ARGV: P, node, shard, token, byte budget, number of apps n, n apps, then per channel: app,
   * channel, since offset ('' no history), since epoch, max replay, oldest kept (ms) → what the
   * node missed while the bus shard was not read, as JSON {c: the apps' counters in `P:iq`,
   * ch: per channel {r: the roster's member JSON strings, h: 1 when the roster and the messages
   * after since fit the byte budget and the messages are all kept (then in e), else 0}}.
   * Publishes `catchUpMarkEvent(token)` to the node's inbox of the shard in the same step.
   */
  meteredCatchUp: `${COMMON}
local node, shard, token, budget = ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local count = tonumber(ARGV[6])
local counters = {}
for i = 1, count do
  counters[i] = tonumber(redis.call('HGET', P .. ':iq:' .. node, ARGV[6 + i]) or '0')
end
local channels = {}
for i = 7 + count, #ARGV, 6 do
  local app, channel, since, sinceEpoch = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local a = appKey(app)
  local roster = redis.call('HVALS', P .. ':roster:' .. a .. ':' .. channel)
  local rosterBytes = 0
  for j = 1, #roster do rosterBytes = rosterBytes + #roster[j] end
  local result = { r = {}, h = 0, e = {} }
  if rosterBytes <= budget then
    budget = budget - rosterBytes
    result.r = roster
  else
    since = ''
  end
  if since ~= '' then
    local meta = P .. ':hm:' .. a .. ':' .. channel
    local epoch = redis.call('HGET', meta, 'e')
    if epoch == sinceEpoch then
      local whole, entries = readHistory(P .. ':hl:' .. a .. ':' .. channel, epoch,
        tonumber(redis.call('HGET', meta, 'o')), tonumber(since), sinceEpoch,
        tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]), true)
      local bytes = 0
      for j = 1, #entries do bytes = bytes + #entries[j] end
      if whole == 1 and bytes <= budget then
        budget = budget - bytes
        result.h = 1
        result.e = entries
      end
    end
  end
  channels[#channels + 1] = result
end
local inbox = P .. ':inbox:' .. node
if SHARDS > 1 then inbox = inbox .. ':' .. shard end
redis.call('PUBLISH', inbox, catchUpMarkEvent(token))
return cjson.encode({ c = counters, ch = channels })`,

  /** ARGV: P, app, periodStart → messages used in that period, this one included. */
  meteredConsume: `${COMMON}
return countMessage(appKey(ARGV[2]), ARGV[3])`,
} as const;

export type RedisScriptName = keyof typeof REDIS_SCRIPTS;

/** The scripts of a cluster whose bus has `busShards` shards (the same on every node). */
export function redisScripts(busShards: number): Record<RedisScriptName, string> {
  const scripts = {} as Record<RedisScriptName, string>;
  for (const [name, lua] of Object.entries(REDIS_SCRIPTS) as [RedisScriptName, string][]) {
    scripts[name] = lua.replace(SHARDS_PLACEHOLDER, String(busShards));
  }
  return scripts;
}
