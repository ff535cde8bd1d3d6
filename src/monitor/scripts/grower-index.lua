-- The externalId index (grower-identity.ts): a hash (one bucket of it, bucketed-index.ts), externalId ->
-- the Leaf user ids that have it, NUL-separated (almost always one). `idx` is the bucket's key.
local function indexedUsers(idx, ext)
  local users = {}
  local joined = redis.call('HGET', idx, ext)
  if joined then for id in string.gmatch(joined .. '\0', '([^%z]*)%z') do users[#users + 1] = id end end
  return users
end
local function indexAdd(idx, ext, user)
  local users = indexedUsers(idx, ext)
  for _, id in ipairs(users) do if id == user then return end end
  users[#users + 1] = user
  redis.call('HSET', idx, ext, table.concat(users, '\0'))
end
local function indexRemove(idx, ext, user)
  local kept = {}
  for _, id in ipairs(indexedUsers(idx, ext)) do if id ~= user then kept[#kept + 1] = id end end
  if #kept == 0 then redis.call('HDEL', idx, ext) else redis.call('HSET', idx, ext, table.concat(kept, '\0')) end
end
