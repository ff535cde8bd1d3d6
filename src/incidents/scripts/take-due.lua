-- Hands out due notifications under a lease (a crashed sender's lease expires and they are handed out
-- again; delivery is idempotent per webhook-id). A settling one whose signature has an open incident
-- is held instead; one held by a still-open incident waits for its resolution.
-- ARGV: 1 prefix, 2 now ms, 3 lease ms, 4 most to hand out.
local K = ARGV[1] .. ':incidents:'
local now, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for _, cred in ipairs(redis.call('ZRANGEBYSCORE', K .. 'due', '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))) do
  local pm = redis.call('HGET', K .. 'pending-meta', cred)
  if not pm then
    redis.call('ZREM', K .. 'due', cred)
  else
    local inc, sig, tid = splitMeta(pm)
    local open = redis.call('HGET', K .. 'open', sig)
    if inc == '' and open then
      hold(K, cred, open, sig, tid)
    elseif inc ~= '' and redis.call('HGET', K .. 'inc:' .. inc, 'status') == 'open' then
      redis.call('ZREM', K .. 'due', cred)
    else
      redis.call('ZADD', K .. 'due', now + lease, cred)
      table.insert(out, cred)
      table.insert(out, tid)
      table.insert(out, redis.call('HGET', K .. 'pending', cred) or '')
    end
  end
end
return out
