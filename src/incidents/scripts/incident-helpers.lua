-- Shared Lua helpers of the incident scripts: K is the key prefix of incidents; meta of a pending
-- notification is "<incident id or ''>\t<signature id>\t<transition id>".
local function splitMeta(pm)
  local inc, sig, tid = string.match(pm, '^([^\t]*)\t([^\t]*)\t(.*)$')
  return inc, sig, tid
end
local function hold(K, cred, id, sig, tid)
  redis.call('HSET', K .. 'pending-meta', cred, id .. '\t' .. sig .. '\t' .. tid)
  redis.call('ZREM', K .. 'due', cred)
  redis.call('SADD', K .. 'held:' .. id, cred)
end
