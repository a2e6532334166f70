// The Redis side of every store operation: one Lua script each, so each runs
// atomically (Redis 7.0: no HEXPIRE, so a key's TTL covers the whole key).
// Keys (`p` is the prefix, `rxwire` by default):
//   p:nodes                 ZSET  node id -> alive until (ms, Redis's clock)
//   p:settle                STRING until when unknown sessions may still be re-registered (after a restart)
//   p:node:<id>:sessions    SET   sessions a node owns
//   p:s:<sid>               HASH  o owner, e epoch, st live|claiming|handing|parked, c claimant, u userKey
//   p:rec:<sid>             STRING a session's record (parked, or handed and not yet imported), PX
//   p:inbox:<sid>           LIST  sendTo messages for a parked session, PX like its record
//   p:parked                ZSET  parked session -> when its record expires
//   p:presence              HASH  sid -> "nodeId|connected|{u,d}"
//   p:bc                    STREAM broadcast log, entry id "<offset>-0", field m = the message
//   p:bc:meta               HASH  e epoch, s last offset, o:<node> "<incarnation>:<n>" (idempotent appends)
// Channels: p:to:<node> (directed messages), p:bc (broadcasts), p:presence (presence changes).
// Every script takes the prefix as ARGV[1] and computes its keys: the cluster
// needs one Redis (or a primary with replicas), not Redis Cluster.

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** Helpers every script shares. */
const PRELUDE = `${NOW}
local p = ARGV[1]
local function alive(node)
  local until_ = redis.call('ZSCORE', p .. ':nodes', node)
  return until_ ~= false and tonumber(until_) > now
end
-- An unknown session may still be registered again when the store lost its
-- data a moment ago: the calling node is not registered itself (it has not
-- noticed yet), or nodes are within the settle time after noticing.
local function settling(me)
  if not alive(me) then return true end
  local until_ = redis.call('GET', p .. ':settle')
  return until_ ~= false and now < tonumber(until_)
end
local function rest(entry)
  return string.match(entry, '^[^|]*|[^|]*|(.*)$')
end
local changes = {}
local function publishPresence()
  if #changes > 0 then redis.call('PUBLISH', p .. ':presence', table.concat(changes, '\\n')) end
end
`;

/**
 * ARGV: prefix, me, ttl, settleMs, known (1: this node was registered before)
 * → {fresh (0/1), reaped nodes, live nodes}. A known node that finds itself
 * unregistered means Redis lost its data (or declared it dead): for
 * settleMs, unknown sessions may still be registered again by their nodes.
 */
export const HEARTBEAT = `${PRELUDE}
local me, ttl, settle, known = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local nodes = p .. ':nodes'
local fresh = redis.call('ZADD', nodes, now + ttl, me)
if fresh == 1 and known == '1' then
  local until_ = redis.call('GET', p .. ':settle')
  if until_ == false or tonumber(until_) < now + settle then
    redis.call('SET', p .. ':settle', now + settle, 'PX', settle)
  end
end
local reaped = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', nodes, '-inf', now)) do
  if node ~= me then
    local set = p .. ':node:' .. node .. ':sessions'
    for _, sid in ipairs(redis.call('SPOP', set, 1000)) do
      local key = p .. ':s:' .. sid
      if redis.call('HGET', key, 'o') == node then redis.call('DEL', key) end
      if redis.call('HDEL', p .. ':presence', sid) == 1 then table.insert(changes, sid .. '\\t') end
    end
    if redis.call('SCARD', set) == 0 then
      redis.call('ZREM', nodes, node)
      redis.call('HDEL', p .. ':bc:meta', 'o:' .. node)
      table.insert(reaped, node)
    end
  end
end
for _, sid in ipairs(redis.call('ZRANGEBYSCORE', p .. ':parked', '-inf', now, 'LIMIT', 0, 1000)) do
  redis.call('ZREM', p .. ':parked', sid)
  if redis.call('EXISTS', p .. ':s:' .. sid) == 0 and redis.call('HDEL', p .. ':presence', sid) == 1 then
    table.insert(changes, sid .. '\\t')
  end
end
publishPresence()
return { fresh, reaped, redis.call('ZRANGEBYSCORE', nodes, now, '+inf') }`;

/** ARGV: prefix, me, then 5 per op (op, sid, a, b, c) → one 'ok' or 'lost' per op. */
export const SESSIONS = `${PRELUDE}
local me = ARGV[2]
local set = p .. ':node:' .. me .. ':sessions'
local presence = p .. ':presence'
local results = {}
local function show(sid, entry)
  redis.call('HSET', presence, sid, entry)
  table.insert(changes, sid .. '\\t' .. entry)
end
for i = 3, #ARGV, 5 do
  local op, sid = ARGV[i], ARGV[i + 1]
  local key = p .. ':s:' .. sid
  local result = 'ok'
  if op == 'open' then
    redis.call('HSET', key, 'o', me, 'e', 1, 'st', 'live', 'c', '', 'u', ARGV[i + 2])
    redis.call('SADD', set, sid)
    show(sid, ARGV[i + 3])
  elseif op == 'conn' then
    if redis.call('HGET', key, 'o') == me then show(sid, ARGV[i + 2]) end
  elseif op == 'end' then
    if redis.call('HGET', key, 'o') == me then
      redis.call('DEL', key)
      if redis.call('HDEL', presence, sid) == 1 then table.insert(changes, sid .. '\\t') end
    end
    redis.call('SREM', set, sid)
  elseif op == 'restore' then
    local owner = redis.call('HGET', key, 'o')
    if owner == false then
      redis.call('HSET', key, 'o', me, 'e', ARGV[i + 2], 'st', 'live', 'c', '', 'u', ARGV[i + 3])
    elseif owner ~= me then
      result = 'lost'
    end
    if result == 'ok' then
      redis.call('SADD', set, sid)
      show(sid, ARGV[i + 4])
    end
  end
  table.insert(results, result)
end
publishPresence()
return results`;

/**
 * ARGV: prefix, me, then (sid, userKey) per claim → one reply per claim, in
 * order: {'unknown', settling} | {'forbidden'} | {'lost'} | {'busy'} |
 * {'taken', epoch, record, inbox} | {'asked', epoch, owner}. Each claim is
 * decided as if it ran alone, in order.
 */
export const CLAIM = `${PRELUDE}
local me = ARGV[2]
local function claim(sid, userKey)
  local key = p .. ':s:' .. sid
  local h = redis.call('HMGET', key, 'o', 'e', 'st', 'c', 'u')
  if h[3] == false then return { 'unknown', settling(me) and 1 or 0 } end
  if h[5] ~= userKey then return { 'forbidden' } end
  local owner, epoch, st = h[1], tonumber(h[2]), h[3]
  if st == 'parked' or owner == me then
    local rec = redis.call('GET', p .. ':rec:' .. sid)
    if rec == false then
      if st == 'parked' then
        redis.call('DEL', key)
        return { 'unknown', 0 }
      end
      -- Ours, but no record: the caller holds it (or is handing it over) itself.
      return { 'busy' }
    end
    redis.call('DEL', p .. ':rec:' .. sid)
    local inbox = redis.call('LRANGE', p .. ':inbox:' .. sid, 0, -1)
    redis.call('DEL', p .. ':inbox:' .. sid)
    redis.call('ZREM', p .. ':parked', sid)
    if st == 'parked' then epoch = epoch + 1 end
    redis.call('HSET', key, 'o', me, 'e', epoch, 'st', 'live', 'c', '')
    redis.call('PERSIST', key)
    redis.call('SADD', p .. ':node:' .. me .. ':sessions', sid)
    return { 'taken', epoch, rec, inbox }
  end
  if not alive(owner) then return { 'lost' } end
  if st == 'handing' and alive(h[4]) then return { 'busy' } end
  epoch = epoch + 1
  redis.call('HSET', key, 'e', epoch, 'st', 'claiming', 'c', me)
  redis.call('PUBLISH', p .. ':to:' .. owner,
    '{"op":"takeover","sid":"' .. sid .. '","to":"' .. me .. '","epoch":' .. epoch .. '}')
  return { 'asked', epoch, owner }
end
local replies = {}
for i = 3, #ARGV, 2 do table.insert(replies, claim(ARGV[i], ARGV[i + 1])) end
return replies`;

/** ARGV: prefix, me, sid, record, ttl → {'handed', claimant} | {'parked'} | {'fenced'} | {'missing'}. */
export const PARK = `${PRELUDE}
local me, sid, record, ttl = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local key = p .. ':s:' .. sid
local h = redis.call('HMGET', key, 'o', 'e', 'st', 'c')
if h[1] == false then return { 'missing' } end
if h[1] ~= me then return { 'fenced' } end
local epoch, st, claimant = tonumber(h[2]), h[3], h[4]
redis.call('SET', p .. ':rec:' .. sid, record, 'PX', ttl)
redis.call('SREM', p .. ':node:' .. me .. ':sessions', sid)
local presence = p .. ':presence'
local entry = redis.call('HGET', presence, sid)
local tail = entry and rest(entry)
if (st == 'claiming' or st == 'handing') and claimant ~= '' and alive(claimant) then
  redis.call('HSET', key, 'o', claimant, 'st', 'live', 'c', '')
  redis.call('SADD', p .. ':node:' .. claimant .. ':sessions', sid)
  if tail then
    local moved = claimant .. '|0|' .. tail
    redis.call('HSET', presence, sid, moved)
    table.insert(changes, sid .. '\\t' .. moved)
    publishPresence()
  end
  redis.call('PUBLISH', p .. ':to:' .. claimant, '{"op":"handed","sid":"' .. sid .. '","epoch":' ..
    epoch .. ',"from":"' .. me .. '","record":' .. record .. '}')
  return { 'handed', claimant }
end
redis.call('HSET', key, 'o', '', 'e', epoch + 1, 'st', 'parked', 'c', '')
redis.call('PEXPIRE', key, ttl)
redis.call('ZADD', p .. ':parked', now + ttl, sid)
if tail then
  local away = string.match(entry, '^([^|]*)|') .. '|0|' .. tail
  if away ~= entry then
    redis.call('HSET', presence, sid, away)
    table.insert(changes, sid .. '\\t' .. away)
    publishPresence()
  end
end
return { 'parked' }`;

/**
 * ARGV: prefix, me, sid, epoch → {'ok'} | {'stale'}. The owner accepts a
 * takeover request only while that very claim stands (not cancelled, not
 * superseded, its node alive); from then on the claimant waits for the record.
 */
export const ACCEPT = `${PRELUDE}
local me, sid, epoch = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = p .. ':s:' .. sid
local h = redis.call('HMGET', key, 'o', 'e', 'st', 'c')
if h[1] ~= me or h[3] ~= 'claiming' or tonumber(h[2]) ~= epoch or not alive(h[4]) then
  return { 'stale' }
end
redis.call('HSET', key, 'st', 'handing')
return { 'ok' }`;

/**
 * ARGV: prefix, me, sid, epoch → {'cancelled'} | {'coming'} | {'gone'}. A
 * claimant that waited in vain withdraws its claim, unless the owner already
 * accepted it (the record is on its way: keep waiting).
 */
export const CANCEL = `${PRELUDE}
local me, sid, epoch = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = p .. ':s:' .. sid
local h = redis.call('HMGET', key, 'o', 'e', 'st', 'c')
if h[3] == 'claiming' and h[4] == me and tonumber(h[2]) == epoch then
  redis.call('HSET', key, 'st', 'live', 'c', '')
  return { 'cancelled' }
end
if h[1] == me or (h[3] == 'handing' and h[4] == me) then return { 'coming' } end
return { 'gone' }`;

/**
 * ARGV: prefix, me, sid → {'released'} | {'record', epoch, record} | {'none'}.
 * This node was asked for a session it does not hold. If a record was handed
 * to it and never imported (the message was lost), here it is; otherwise it
 * drops its ownership and tells the claimant the session is gone.
 */
export const RELEASE = `${PRELUDE}
local me, sid = ARGV[2], ARGV[3]
local key = p .. ':s:' .. sid
local h = redis.call('HMGET', key, 'o', 'c', 'e')
if h[1] ~= me then return { 'none' } end
local rec = redis.call('GET', p .. ':rec:' .. sid)
if rec then
  redis.call('DEL', p .. ':rec:' .. sid)
  return { 'record', tonumber(h[3]), rec }
end
redis.call('DEL', key)
redis.call('SREM', p .. ':node:' .. me .. ':sessions', sid)
if redis.call('HDEL', p .. ':presence', sid) == 1 then table.insert(changes, sid .. '\t') end
publishPresence()
if h[2] and h[2] ~= '' then
  redis.call('PUBLISH', p .. ':to:' .. h[2], '{"op":"gone","sid":"' .. sid .. '"}')
end
return { 'released' }`;

/** ARGV: prefix, sid, message, me → {'published', owner} | {'queued'} | {'missing', settling}. */
export const SEND = `${PRELUDE}
local sid, message, me = ARGV[2], ARGV[3], ARGV[4]
local key = p .. ':s:' .. sid
local h = redis.call('HMGET', key, 'o', 'st')
if h[2] == false then return { 'missing', settling(me) and 1 or 0 } end
if h[2] == 'parked' then
  local inbox = p .. ':inbox:' .. sid
  redis.call('RPUSH', inbox, message)
  local left = redis.call('PTTL', key)
  if left > 0 then redis.call('PEXPIRE', inbox, left) end
  return { 'queued' }
end
redis.call('PUBLISH', p .. ':to:' .. h[1], message)
return { 'published', h[1] }`;

/**
 * ARGV: prefix, node, incarnation, maxLen, newEpoch, then (n, header, json)
 * per broadcast, in the origin's order → {epoch, appended}. Appends every
 * broadcast of the batch the log does not have yet (idempotent per node,
 * incarnation and n) with consecutive offsets, and publishes each: one
 * script call for all the broadcasts an origin had waiting.
 */
export const BROADCAST = `${PRELUDE}
local node, inc, maxLen = ARGV[2], ARGV[3], ARGV[4]
local meta, stream = p .. ':bc:meta', p .. ':bc'
local epoch = redis.call('HGET', meta, 'e')
if epoch == false then
  epoch = ARGV[5]
  redis.call('HSET', meta, 'e', epoch)
end
local last = -1
local prev = redis.call('HGET', meta, 'o:' .. node)
if prev then
  local pinc, pn = string.match(prev, '^(.*):(%d+)$')
  if pinc == inc then last = tonumber(pn) end
end
local fresh = {}
for i = 6, #ARGV, 3 do
  local n = tonumber(ARGV[i])
  if n > last then
    table.insert(fresh, i)
    last = n
  end
end
if #fresh == 0 then return { epoch, 0 } end
redis.call('HSET', meta, 'o:' .. node, inc .. ':' .. last)
local offset = redis.call('HINCRBY', meta, 's', #fresh) - #fresh
if offset == 0 then redis.call('DEL', stream) end
for j, i in ipairs(fresh) do
  offset = offset + 1
  local message = '{"e":"' .. epoch .. '","s":' .. offset .. ',' .. string.sub(ARGV[i + 1], 2) ..
    '\\n' .. ARGV[i + 2]
  if j == #fresh then
    redis.call('XADD', stream, 'MAXLEN', '~', maxLen, offset .. '-0', 'm', message)
  else
    redis.call('XADD', stream, offset .. '-0', 'm', message)
  end
  redis.call('PUBLISH', p .. ':bc', message)
end
return { epoch, #fresh }`;

/** ARGV: prefix, after, count, newEpoch → {epoch, top, {offset, message, offset, message, ...}}. */
export const READ = `${PRELUDE}
local meta = p .. ':bc:meta'
local epoch = redis.call('HGET', meta, 'e')
if epoch == false then
  epoch = ARGV[4]
  redis.call('HSET', meta, 'e', epoch)
end
local top = tonumber(redis.call('HGET', meta, 's') or '0')
local entries = {}
if tonumber(ARGV[3]) > 0 then
  for _, row in ipairs(redis.call('XRANGE', p .. ':bc', '(' .. ARGV[2] .. '-0', '+', 'COUNT', ARGV[3])) do
    table.insert(entries, string.match(row[1], '^(%d+)-'))
    table.insert(entries, row[2][2])
  end
end
return { epoch, top, entries }`;

/** ARGV: prefix → HGETALL of presence, flat. */
export const PRESENCE = `${PRELUDE}
return redis.call('HGETALL', p .. ':presence')`;

/** ARGV: prefix, me: a graceful goodbye. */
export const LEAVE = `${PRELUDE}
local me = ARGV[2]
local set = p .. ':node:' .. me .. ':sessions'
for _, sid in ipairs(redis.call('SMEMBERS', set)) do
  local key = p .. ':s:' .. sid
  if redis.call('HGET', key, 'o') == me then redis.call('DEL', key) end
  if redis.call('HDEL', p .. ':presence', sid) == 1 then table.insert(changes, sid .. '\\t') end
end
redis.call('DEL', set)
redis.call('ZREM', p .. ':nodes', me)
redis.call('HDEL', p .. ':bc:meta', 'o:' .. me)
publishPresence()
return 1`;
