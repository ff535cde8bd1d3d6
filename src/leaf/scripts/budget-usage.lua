-- KEYS[1]: usage hash. Answers {now, field, count, field, count, ...}.
local t = redis.call('TIME')
local answer = {string.format('%.3f', tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000)}
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do answer[#answer + 1] = v end
return answer
