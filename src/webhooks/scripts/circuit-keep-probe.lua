-- Keeps the probe role with the job holding it. KEYS: probe key. ARGV: job id, ttl ms.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
