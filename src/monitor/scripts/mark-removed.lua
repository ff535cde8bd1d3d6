-- Marks a credential removed: out of every index, kept (with a TTL) for the API. Loaded after INDEX_BUCKETS,
-- due-keys.lua, index-buckets.lua and grower-index.lua.
-- KEYS[1]: the credential hash. ARGV: 1 prefix, 2 provider, 3 Leaf user id, 4 now (ms), 5 retention (ms).
local cred = KEYS[1]
local P, provider, user = ARGV[1], ARGV[2], ARGV[3]
local cat = redis.call('HGET', cred, 'cat')
if not cat then return 0 end
redis.call('ZREM', P .. ':cat:' .. provider .. ':' .. cat, user)
redis.call('ZREM', P .. ':polled:' .. provider, user)
for _, k in ipairs(dueKeys(P, provider)) do redis.call('ZREM', k, user) end
local cid = redis.call('HGET', cred, 'c')
-- The lookup indexes, in buckets (index-buckets.lua) and in the layouts they replaced.
if cid and cid ~= '' then
  redis.call('HDEL', credentialIdIndexKey(P, cid), cid)
  redis.call('HDEL', P .. ':credid', cid)
end
local gx = redis.call('HGET', cred, 'gx')
if gx then
  indexRemove(externalIdIndexKey(P, gx), gx, user)
  indexRemove(P .. ':growers:byext', gx, user)
  redis.call('ZREM', P .. ':growers:ext', gx .. '\0' .. user)
end
redis.call('HSET', cred, 'rm', ARGV[4])
redis.call('PEXPIRE', cred, ARGV[5])
redis.call('PEXPIRE', P .. ':hist:' .. provider .. ':' .. user, ARGV[5])
return 1
