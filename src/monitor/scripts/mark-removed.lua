-- Marks a credential removed: out of every index, kept (with a TTL) for the API. Loaded after INDEX_BUCKETS,
-- due-keys.lua, index-buckets.lua and grower-index.lua.
-- KEYS[1]: the credential hash. ARGV: 1 prefix, 2 provider, 3 Leaf user id, 4 now (ms), 5 retention (ms),
-- 6 since (ms): only a credential neither polled nor listed since is removed. Returns 1 when it marked it.
local cred = KEYS[1]
local P, provider, user = ARGV[1], ARGV[2], ARGV[3]
local cat, rm, lp, sn = unpack(redis.call('HMGET', cred, 'cat', 'rm', 'lp', 'sn'))
-- Nothing to do for a credential without a state, one already removed (it is in no index), or one a poll
-- or a sweep saw since the caller read it.
local since = tonumber(ARGV[6])
if not cat or rm or tonumber(lp or '0') >= since or tonumber(sn or '0') >= since then return 0 end
redis.call('ZREM', P .. ':cat:' .. provider .. ':' .. cat, user)
-- Out of the poll-age histogram (poll-ages.ts).
local ages = P .. ':pollage:' .. provider
local second = tostring(math.floor(tonumber(lp or '0') / 1000))
if redis.call('HINCRBY', ages, second, -1) <= 0 then redis.call('HDEL', ages, second) end
for _, k in ipairs(dueKeys(P, provider)) do redis.call('ZREM', k, user) end
local cid = redis.call('HGET', cred, 'c')
-- The lookup indexes, in buckets (index-buckets.lua) and in the layouts they replaced.
if cid and cid ~= '' then
  redis.call('HDEL', credentialIdIndexKey(P, cid), cid)
  redis.call('HDEL', legacyCredentialIdIndexKey(P), cid)
end
local gx = redis.call('HGET', cred, 'gx')
if gx then
  indexRemove(externalIdIndexKey(P, gx), gx, user)
  indexRemove(legacyExternalIdIndexKey(P), gx, user)
  redis.call('ZREM', P .. ':growers:ext', gx .. '\0' .. user)
end
redis.call('HSET', cred, 'rm', ARGV[4])
redis.call('PEXPIRE', cred, ARGV[5])
redis.call('PEXPIRE', P .. ':hist:' .. provider .. ':' .. user, ARGV[5])
return 1
