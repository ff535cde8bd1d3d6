-- Decides, atomically across every worker process, whether a delivery may be sent.
-- KEYS: endpoint hash, probe key, waiting set, retrying set. ARGV: job id, waiting score (ms), probe ttl ms.
redis.call('ZREM', KEYS[4], ARGV[1])
if not redis.call('HGET', KEYS[1], 'failingSince') then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 'send'
end
local holder = redis.call('GET', KEYS[2])
if (not holder) or holder == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 'probe'
end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 'wait'
