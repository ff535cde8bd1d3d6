-- Marks the user seen by this sweep and writes its identity; moves its index entry when externalId changed
-- (grower-identity.ts; loaded after grower-index.lua). KEYS[1]: the credential hash. ARGV: 1 externalId
-- index (hash), 2 Leaf user id, 3 seen at (ms), 4 externalId, 5 name, 6 email ('' = none), 7 the former
-- externalId index (sorted set), emptied as users are seen again.
local cred = KEYS[1]
local idx, user, sn = ARGV[1], ARGV[2], ARGV[3]
local gx, gn, gm = ARGV[4], ARGV[5], ARGV[6]
redis.call('HSET', cred, 'sn', sn)
local old = redis.call('HGET', cred, 'gx')
if old then redis.call('ZREM', ARGV[7], old .. '\0' .. user) end
if old and old ~= gx then indexRemove(idx, old, user) end
if gx ~= '' then redis.call('HSET', cred, 'gx', gx); indexAdd(idx, gx, user) else redis.call('HDEL', cred, 'gx') end
if gn ~= '' then redis.call('HSET', cred, 'gn', gn) else redis.call('HDEL', cred, 'gn') end
if gm ~= '' then redis.call('HSET', cred, 'gm', gm) else redis.call('HDEL', cred, 'gm') end
return 1
