-- Counts a failed attempt and opens the circuit at the threshold. KEYS: endpoint hash.
-- ARGV: at ms, error, threshold. Returns {failuresInRow, 1 when failing}.
local n = redis.call('HINCRBY', KEYS[1], 'failuresInRow', 1)
redis.call('HSET', KEYS[1], 'lastFailureAt', ARGV[1], 'lastError', ARGV[2])
local failing = redis.call('HGET', KEYS[1], 'failingSince')
if (not failing) and n >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'failingSince', ARGV[1])
  failing = ARGV[1]
end
return {n, failing and 1 or 0}
