-- Records a 2xx and closes the circuit. KEYS: endpoint hash, probe key, waiting set, retrying set.
-- ARGV: at ms, job id. When the endpoint was failing, the probe held by another delivery and the
-- deliveries on their own retry timer join the waiting set, so the release sends them too without
-- waiting for their timers. Returns 1 when the endpoint was failing (the waiting set must be released).
local was = redis.call('HGET', KEYS[1], 'failingSince')
redis.call('HSET', KEYS[1], 'lastSuccessAt', ARGV[1], 'failuresInRow', '0')
redis.call('HDEL', KEYS[1], 'failingSince')
local holder = redis.call('GET', KEYS[2])
redis.call('DEL', KEYS[2])
if not was then return 0 end
if holder and holder ~= ARGV[2] then redis.call('ZADD', KEYS[3], 0, holder) end
redis.call('ZUNIONSTORE', KEYS[3], 2, KEYS[3], KEYS[4], 'AGGREGATE', 'MIN')
redis.call('DEL', KEYS[4])
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
