-- Moves fields of a legacy unbucketed index into their buckets (bucketed-index.ts), each atomically: a
-- bucket entry written since (by the current scripts) wins over the legacy one. Loaded after INDEX_BUCKETS,
-- index-buckets.lua and grower-index.lua. KEYS[1]: the legacy hash. ARGV: 1 prefix, 2 'credid' or 'byext',
-- 3.. the fields. Returns how many moved.
local legacy, P, kind = KEYS[1], ARGV[1], ARGV[2]
local moved = 0
for i = 3, #ARGV do
  local field = ARGV[i]
  local value = redis.call('HGET', legacy, field)
  if value then
    if kind == 'credid' then
      redis.call('HSETNX', credentialIdIndexKey(P, field), field, value)
    else
      for id in string.gmatch(value .. '\0', '([^%z]*)%z') do
        if id ~= '' then indexAdd(externalIdIndexKey(P, field), field, id) end
      end
    end
    redis.call('HDEL', legacy, field)
    moved = moved + 1
  end
end
return moved
