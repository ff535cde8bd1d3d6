-- Resolves an open incident once: its held notifications become due at ARGV[5] (or are discarded).
-- ARGV: 1 prefix, 2 incident id, 3 reason, 4 now ms, 5 release at ms, 6 discard ('1'), 7 resolved ttl ms.
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
