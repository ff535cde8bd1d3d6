-- Records the decision for one transition exactly once. KEYS: decision key, last-notified hash.
-- ARGV: decision ('none' or JSON), the last-notified value the decision was based on ('' = none),
-- the new last-notified value ('' = unchanged), the credential field, ttl ms.
-- Returns the stored decision, or false when another dispatcher changed last-notified meanwhile.
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
local current = redis.call('HGET', KEYS[2], ARGV[4]) or ''
if current ~= ARGV[2] then return false end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[5])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], ARGV[4], ARGV[3]) end
return ARGV[1]
