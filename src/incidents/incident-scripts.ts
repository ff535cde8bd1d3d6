// The Lua scripts of fleet incidents (used by incident-store.ts). Every key is built from the prefix
// (ARGV[1]); the store passes one declared key in the prefix's slot so Redis Cluster routes them.

// Shared Lua helpers: K is the key prefix of incidents; meta of a pending notification is
// "<incident id or ''>\t<signature id>\t<transition id>".
const HELPERS = `
local function splitMeta(pm)
  local inc, sig, tid = string.match(pm, '^([^\\t]*)\\t([^\\t]*)\\t(.*)$')
  return inc, sig, tid
end
local function hold(K, cred, id, sig, tid)
  redis.call('HSET', K .. 'pending-meta', cred, id .. '\\t' .. sig .. '\\t' .. tid)
  redis.call('ZREM', K .. 'due', cred)
  redis.call('SADD', K .. 'held:' .. id, cred)
end
`;

// Decides once per transition: send now, defer (settle), hold for an open incident, or drop (the
// credential recovered while its notification waited). Counts the sighting and opens an incident when
// the signature crosses the threshold, atomically, so concurrent dispatchers open it once.
export const ROUTE = `${HELPERS}
local P, cred, tid, kind, sig = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local K = P .. ':incidents:'
local routeKey = K .. 'route:' .. tid
local done = redis.call('GET', routeKey)
if done then return done end
local notify = ARGV[6] == '1'
local at, now = tonumber(ARGV[8]), tonumber(ARGV[16])
local dropped = false
local told = false
if kind == 'recover' or notify then
  local pm = redis.call('HGET', K .. 'pending-meta', cred)
  if pm then
    local inc = splitMeta(pm)
    -- The payload starts with '1' when the app had already been told this credential failed.
    told = string.sub(redis.call('HGET', K .. 'pending', cred) or '0', 1, 1) == '1'
    redis.call('HDEL', K .. 'pending', cred)
    redis.call('HDEL', K .. 'pending-meta', cred)
    redis.call('ZREM', K .. 'due', cred)
    if inc ~= '' then redis.call('SREM', K .. 'held:' .. inc, cred) end
    dropped = true
  end
end
local open = false
if kind == 'recover' then
  local m = redis.call('HGET', K .. 'member-of', cred)
  if m and redis.call('HGET', K .. 'inc:' .. m, 'status') == 'open' then redis.call('SADD', K .. 'recovered:' .. m, cred) end
elseif kind == 'fail' then
  local sk = K .. 'sightings:' .. sig
  local window = tonumber(ARGV[10])
  redis.call('ZADD', sk, at, cred)
  redis.call('ZREMRANGEBYSCORE', sk, '-inf', '(' .. (now - window))
  redis.call('PEXPIRE', sk, window * 2)
  local polled = redis.call('ZCOUNT', ARGV[13], now - window, '+inf')
  open = redis.call('HGET', K .. 'open', sig)
  if open then
    local ik = K .. 'inc:' .. open
    redis.call('SADD', K .. 'members:' .. open, cred)
    redis.call('SREM', K .. 'recovered:' .. open, cred)
    redis.call('HSET', K .. 'member-of', cred, open)
    local count = redis.call('SCARD', K .. 'members:' .. open)
    local last = tonumber(redis.call('HGET', ik, 'lastSeenAt') or '0')
    redis.call('HSET', ik, 'lastSeenAt', math.max(last, at), 'count', count, 'polled', math.max(polled, count))
  else
    local count = redis.call('ZCARD', sk)
    local base = math.max(polled, count)
    if count >= tonumber(ARGV[11]) and count >= tonumber(ARGV[12]) * base then
      open = 'inc_' .. redis.call('INCR', K .. 'seq')
      local ik = K .. 'inc:' .. open
      local meta = cjson.decode(ARGV[14])
      for k, v in pairs(meta) do redis.call('HSET', ik, k, tostring(v)) end
      local first = redis.call('ZRANGE', sk, 0, 0, 'WITHSCORES')
      local newest = redis.call('ZRANGE', sk, -1, -1, 'WITHSCORES')
      redis.call('HSET', ik, 'id', open, 'signatureId', sig, 'status', 'open', 'openedAt', now, 'firstSeenAt', first[2],
        'lastSeenAt', newest[2], 'count', count, 'polled', base)
      for _, m in ipairs(redis.call('ZRANGE', sk, 0, -1)) do
        redis.call('SADD', K .. 'members:' .. open, m)
        redis.call('HSET', K .. 'member-of', m, open)
        local pm = redis.call('HGET', K .. 'pending-meta', m)
        if pm then
          local pinc, psig, ptid = splitMeta(pm)
          if pinc == '' and psig == sig then hold(K, m, open, sig, ptid) end
        end
      end
      redis.call('HSET', K .. 'open', sig, open)
      redis.call('ZADD', K .. 'index', now, open)
      redis.call('SADD', K .. 'notify', open .. ':opened')
    end
  end
elseif kind == 'other' then
  open = redis.call('HGET', K .. 'open', sig)
end
local result
if notify and kind ~= 'recover' then
  if open then
    redis.call('HSET', K .. 'pending', cred, ARGV[7])
    hold(K, cred, open, sig, tid)
    result = 'held:' .. open
  elseif tonumber(ARGV[9]) > 0 then
    redis.call('HSET', K .. 'pending', cred, ARGV[7])
    redis.call('HSET', K .. 'pending-meta', cred, '\\t' .. sig .. '\\t' .. tid)
    redis.call('ZADD', K .. 'due', now + tonumber(ARGV[9]), cred)
    result = 'deferred'
  else
    result = 'send'
  end
elseif notify then
  if kind == 'recover' and dropped and not told then result = 'dropped' else result = 'send' end
else
  result = 'none'
end
redis.call('SET', routeKey, result, 'PX', ARGV[15])
return result
`;

// Hands out due notifications under a lease (a crashed sender's lease expires and they are handed out
// again; delivery is idempotent per webhook-id). A settling one whose signature has an open incident
// is held instead; one held by a still-open incident waits for its resolution.
export const TAKE_DUE = `${HELPERS}
local K = ARGV[1] .. ':incidents:'
local now, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for _, cred in ipairs(redis.call('ZRANGEBYSCORE', K .. 'due', '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))) do
  local pm = redis.call('HGET', K .. 'pending-meta', cred)
  if not pm then
    redis.call('ZREM', K .. 'due', cred)
  else
    local inc, sig, tid = splitMeta(pm)
    local open = redis.call('HGET', K .. 'open', sig)
    if inc == '' and open then
      hold(K, cred, open, sig, tid)
    elseif inc ~= '' and redis.call('HGET', K .. 'inc:' .. inc, 'status') == 'open' then
      redis.call('ZREM', K .. 'due', cred)
    else
      redis.call('ZADD', K .. 'due', now + lease, cred)
      table.insert(out, cred)
      table.insert(out, tid)
      table.insert(out, redis.call('HGET', K .. 'pending', cred) or '')
    end
  end
end
return out
`;

// Forgets a notification once its deliveries are enqueued (only if it is still the same transition).
export const FINISH = `${HELPERS}
local K = ARGV[1] .. ':incidents:'
local cred = ARGV[2]
local pm = redis.call('HGET', K .. 'pending-meta', cred)
if not pm then return 0 end
local inc, sig, tid = splitMeta(pm)
if tid ~= ARGV[3] then return 0 end
redis.call('HDEL', K .. 'pending', cred)
redis.call('HDEL', K .. 'pending-meta', cred)
redis.call('ZREM', K .. 'due', cred)
if inc ~= '' then redis.call('SREM', K .. 'held:' .. inc, cred) end
return 1
`;

// Resolves an open incident once: its held notifications become due at ARGV[5] (or are discarded).
export const RESOLVE = `
local K = ARGV[1] .. ':incidents:'
local id, reason, now, releaseAt, discard = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6] == '1'
local ik = K .. 'inc:' .. id
if redis.call('HGET', ik, 'status') ~= 'open' then return -1 end
local sig = redis.call('HGET', ik, 'signatureId')
redis.call('HSET', ik, 'status', 'resolved', 'resolvedAt', now, 'resolution', reason,
  'recovered', redis.call('SCARD', K .. 'recovered:' .. id))
if redis.call('HGET', K .. 'open', sig) == id then redis.call('HDEL', K .. 'open', sig) end
redis.call('DEL', K .. 'sightings:' .. sig)
local held = redis.call('SMEMBERS', K .. 'held:' .. id)
for _, cred in ipairs(held) do
  if discard then
    redis.call('HDEL', K .. 'pending', cred)
    redis.call('HDEL', K .. 'pending-meta', cred)
    redis.call('ZREM', K .. 'due', cred)
  else
    redis.call('ZADD', K .. 'due', releaseAt, cred)
  end
end
redis.call('HSET', ik, discard and 'discarded' or 'released', #held)
if discard then redis.call('DEL', K .. 'held:' .. id) end
for _, m in ipairs(redis.call('SMEMBERS', K .. 'members:' .. id)) do
  if redis.call('HGET', K .. 'member-of', m) == id then redis.call('HDEL', K .. 'member-of', m) end
end
redis.call('DEL', K .. 'members:' .. id, K .. 'recovered:' .. id)
redis.call('PEXPIRE', ik, ARGV[7])
redis.call('SADD', K .. 'notify', id .. ':resolved')
return #held
`;
