-- Builds a provider's poll-age histogram (poll-ages.ts) from the state hashes, then deletes the sorted set
-- it replaced: atomic, so the counts are exact whatever apply-poll.lua wrote before it ran. Every credential
-- with a state is in the schedule or in the old set; one in the old set and in no schedule class is added
-- to `new` (due now), so that the schedule holds every credential as removeUnseen expects.
-- KEYS: 1 the old sorted set (P:polled:provider), 2 the histogram, 3..5 the new, failing, healthy classes.
-- ARGV: 1 the credential hash key prefix (P:cred:provider:), 2 now (ms). Returns how many were counted.
local old, ages = KEYS[1], KEYS[2]
local seen, counted = {}, 0
redis.call('DEL', ages)
local function count(user)
  if seen[user] then return end
  seen[user] = true
  local h = redis.call('HMGET', ARGV[1] .. user, 'cat', 'rm', 'lp')
  if h[1] and not h[2] then
    redis.call('HINCRBY', ages, tostring(math.floor(tonumber(h[3] or '0') / 1000)), 1)
    counted = counted + 1
  end
end
for k = 3, 5 do
  for _, user in ipairs(redis.call('ZRANGE', KEYS[k], 0, -1)) do count(user) end
end
for _, user in ipairs(redis.call('ZRANGE', old, 0, -1)) do
  if not seen[user] then redis.call('ZADD', KEYS[3], ARGV[2], user) end
  count(user)
end
redis.call('DEL', old)
return counted
