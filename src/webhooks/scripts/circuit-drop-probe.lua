-- Gives the probe role up when this job holds it. KEYS: probe key. ARGV: job id.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
