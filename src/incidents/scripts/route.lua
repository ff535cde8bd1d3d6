-- Decides once per transition: send now, defer (settle), hold for an open incident, or drop (the
-- credential recovered while its notification waited). Counts the sighting and opens an incident when
-- the signature crosses the threshold, atomically, so concurrent dispatchers open it once.
-- KEYS[1]: a key in the prefix's slot (routing only). ARGV: 1 prefix, 2 credential key, 3 transition id,
-- 4 kind, 5 signature id, 6 notify ('1'), 7 payload, 8 at ms, 9 settle ms, 10 window ms, 11 min credentials,
-- 12 min share, 13 poll-age histogram key (poll-ages.ts), 14 incident meta (JSON), 15 route ttl ms, 16 now ms.
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
  -- Credentials whose last poll was within the window (to the second): the histogram's counts from its start.
  local polled = 0
  local fromSecond = math.floor((now - window) / 1000)
  local ages = redis.call('HGETALL', ARGV[13])
  for i = 1, #ages, 2 do
    if tonumber(ages[i]) >= fromSecond then polled = polled + tonumber(ages[i + 1]) end
  end
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
    redis.call('HSET', K .. 'pending-meta', cred, '\t' .. sig .. '\t' .. tid)
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
