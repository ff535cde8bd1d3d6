-- Claims due polls for poll-schedule.ts. KEYS: every (class, provider) set in release order.
-- ARGV[1]: now ms; ARGV[2]: most to claim; ARGV[3]: lease end (ms). A claimed member stays in its set,
-- scored by the lease end: if its poll never completes (its worker died with Redis, its job was removed),
-- it is due again when the lease ends. Returns {key index, member, ...}.
local now, limit, lease = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local out = {}
for i, key in ipairs(KEYS) do
  if limit <= 0 then break end
  local due = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, limit)
  for _, member in ipairs(due) do
    redis.call('ZADD', key, 'XX', lease, member)
    out[#out + 1] = i
    out[#out + 1] = member
  end
  limit = limit - #due
end
return out
