-- Deletes the lock only when this process still holds it. KEYS[1]: the lock. ARGV[1]: this holder's nonce.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0
