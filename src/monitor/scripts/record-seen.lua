-- Marks the user seen by this sweep and writes its identity; moves its index entry when externalId changed
-- (grower-identity.ts; loaded after INDEX_BUCKETS, index-buckets.lua and grower-index.lua). KEYS[1]: the
-- credential hash. ARGV: 1 prefix, 2 Leaf user id, 3 seen at (ms), 4 externalId, 5 name, 6 email ('' = none).
-- The index is bucketed (bucketed-index.ts); entries of the layouts it replaced (the hash P:growers:byext,
-- the sorted set P:growers:ext) are removed as users are seen again.
local cred = KEYS[1]
local P, user, sn = ARGV[1], ARGV[2], ARGV[3]
local gx, gn, gm = ARGV[4], ARGV[5], ARGV[6]
redis.call('HSET', cred, 'sn', sn)
local old = redis.call('HGET', cred, 'gx')
if old then redis.call('ZREM', P .. ':growers:ext', old .. '\0' .. user) end
if old and old ~= gx then
  indexRemove(externalIdIndexKey(P, old), old, user)
  indexRemove(legacyExternalIdIndexKey(P), old, user)
end
if gx ~= '' then redis.call('HSET', cred, 'gx', gx); indexAdd(externalIdIndexKey(P, gx), gx, user) else redis.call('HDEL', cred, 'gx') end
if gn ~= '' then redis.call('HSET', cred, 'gn', gn) else redis.call('HDEL', cred, 'gn') end
if gm ~= '' then redis.call('HSET', cred, 'gm', gm) else redis.call('HDEL', cred, 'gm') end
return 1
