-- Adds users to the schedule for poll-schedule.ts. KEYS[1..3]: the provider's new, failing, healthy sets.
-- ARGV[1]: due ms; ARGV[2]: 'listed' (only users in no set are added, to `new`) or 'now' (every user
-- becomes due at ARGV[1], in whichever set it is). ARGV[3..]: Leaf user ids. Returns how many were added
-- to `new`.
local added = 0
for i = 3, #ARGV do
  local user = ARGV[i]
  local found = false
  for _, key in ipairs(KEYS) do
    if redis.call('ZSCORE', key, user) then
      found = true
      if ARGV[2] == 'now' then redis.call('ZADD', key, 'XX', 'LT', ARGV[1], user) end
      break
    end
  end
  if not found then
    redis.call('ZADD', KEYS[1], ARGV[1], user)
    added = added + 1
  end
end
return added
