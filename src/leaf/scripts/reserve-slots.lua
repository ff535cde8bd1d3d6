-- KEYS[1]: the next free slot (ms, Redis TIME); KEYS[2]: usage hash (bucket index → slots granted);
-- KEYS[3]: the end of the latest pause (ms); KEYS[4]: the end of the cold-start spacing (ms).
-- ARGV: interval ms, burst, horizon ms, 'reserve' | 'pause' | 'shift', count | pause ms | shift ms, usage bucket ms, usage TTL ms,
-- then the bucket of each slot the caller dropped unsent (uncounted in the same round trip).
-- Answers {now, pausedUntil, retryInMs, slot...} as strings (ms with µs precision); 'shift' answers
-- {now, pausedUntil, the first slot it moved}. Mirrors reserveSlots/pauseSlots/shiftSlots.
-- COLD_START_MS and COLD_START_SPACING are budget-slots.ts constants, prepended by the loader.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local horizon = tonumber(ARGV[3])
local bucketMs = tonumber(ARGV[6])
local usageTtl = tonumber(ARGV[7])
local function fmt(x) return string.format('%.3f', x) end
for i = 8, #ARGV do redis.call('HINCRBY', KEYS[2], ARGV[i], -1) end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
if ARGV[4] == 'pause' then
  local untilMs = now + tonumber(ARGV[5])
  if untilMs > paused then
    paused = untilMs
    redis.call('SET', KEYS[3], fmt(paused), 'PX', math.ceil(paused - now) + horizon + 1000)
  end
  local base = untilMs + (burst - 1) * interval
  if base > tat then
    redis.call('SET', KEYS[1], fmt(base), 'PX', math.ceil(base - now) + 1000)
  end
  return {fmt(now), fmt(paused)}
end
if ARGV[4] == 'shift' then
  -- The slots not yet reserved move later (a request reached its socket late); reserved ones stay.
  local from = math.max(tat, now)
  local moved = from + tonumber(ARGV[5])
  redis.call('SET', KEYS[1], fmt(moved), 'PX', math.ceil(moved - now) + 1000)
  return {fmt(now), fmt(paused), fmt(from)}
end
local ramp = tonumber(redis.call('GET', KEYS[4]) or '0')
if tat < now - COLD_START_MS then
  ramp = now + COLD_START_MS
  redis.call('SET', KEYS[4], fmt(ramp), 'PX', COLD_START_MS + 1000)
end
if tat < now then tat = now end
local answer = {fmt(now), fmt(paused), '0'}
for i = 1, tonumber(ARGV[5]) do
  local slot = math.max(now, tat - (burst - 1) * interval)
  if slot - now > horizon then
    answer[3] = fmt(slot - now - horizon)
    break
  end
  answer[#answer + 1] = fmt(slot)
  local bucket = math.floor(slot / bucketMs)
  if redis.call('HINCRBY', KEYS[2], bucket, 1) == 1 then
    local keep = math.ceil(usageTtl / bucketMs) + 1
    for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
      if tonumber(field) < bucket - keep then redis.call('HDEL', KEYS[2], field) end
    end
  end
  if slot < ramp then tat = tat + interval * COLD_START_SPACING else tat = tat + interval end
end
if #answer > 3 then
  redis.call('SET', KEYS[1], fmt(tat), 'PX', math.ceil(tat - now) + 1000)
  redis.call('PEXPIRE', KEYS[2], usageTtl)
end
return answer
