-- Forgets a notification once its deliveries are enqueued (only if it is still the same transition).
-- ARGV: 1 prefix, 2 credential key, 3 transition id.
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
