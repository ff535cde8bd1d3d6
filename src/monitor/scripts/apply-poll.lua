-- One script writes the state, the indexes, the history and the outbox entry, so a transition can never
-- be lost or doubled between steps, whichever worker dies or races. Keys are built from the prefix; with a
-- hash-tagged prefix they all live in one Redis Cluster slot. Loaded by credential-store.ts, after
-- OUTBOX_STREAM, UNINDEXED_CATEGORY, INDEX_BUCKETS, ARG, due-keys.lua and index-buckets.lua.
--
-- KEYS[1]: the credential hash. ARG: ARGV by name, in the order of APPLY_POLL_ARGS (apply-poll-args.ts):
--   prefix, provider, leafUserId, observedAtMs, category, action, since (ISO), credentialId,
--   clientEnvironment, cursorMs, lastEventId, ruleId, reasonChunks (JSON array), evidenceEventId,
--   historyLimit, transitionTemplate (JSON), sinceMs, evidenceStatus, excerptChunks (JSON array),
--   scheduleClass, nextDueMs,
--   leafRequests (the poll's requests to Leaf), credentialStatus, credentialFetchedAtMs ('' when the
--   cached credential object was used).
-- Answers {'stale' | 'same' | 'transition', transition JSON or '', the cursor before this poll or ''}.
local cred = KEYS[1]
-- A long value comes in chunks of at most 64 bytes, kept in the fields name, name2, name3... (long-fields.ts):
-- one value over hash-max-listpack-value would turn the hash into a hashtable of three times the size.
-- Writes the chunks after the first, drops those of the previous value, and answers the first ('' if none).
local function setChunks(field, json)
  local chunks = cjson.decode(json)
  local n = 2
  while redis.call('HEXISTS', cred, field .. n) == 1 do redis.call('HDEL', cred, field .. n); n = n + 1 end
  for i = 2, #chunks do redis.call('HSET', cred, field .. i, chunks[i]) end
  return chunks[1] or ''
end
local P, provider, user = ARG.prefix, ARG.provider, ARG.leafUserId
local observed = tonumber(ARG.observedAtMs)
local lp = tonumber(redis.call('HGET', cred, 'lp') or '0')
local prevCursor = redis.call('HGET', cred, 'cur') or ''
if observed < lp then return {'stale', '', prevCursor} end
local prev = redis.call('HGET', cred, 'cat')
local newcat = ARG.category
local since = ARG.since
if prev == newcat then since = redis.call('HGET', cred, 'since') or since end
local oldCid = redis.call('HGET', cred, 'c')
local wasRemoved = redis.call('HGET', cred, 'rm')
local cid = ARG.credentialId
local reason = setChunks('reason', ARG.reasonChunks)
local excerpt = setChunks('ex', ARG.excerptChunks)
redis.call('HSET', cred, 'cat', newcat, 'act', ARG.action, 'since', since, 'lp', ARG.observedAtMs, 'c', cid, 'e', ARG.clientEnvironment,
  'cur', ARG.cursorMs, 'cid', ARG.lastEventId, 'rule', ARG.ruleId, 'reason', reason, 'es', ARG.evidenceStatus, 'f', '0')
-- The evidence's event is most often the last event seen: then 'ei' is not stored (absent = same as 'cid').
if ARG.evidenceEventId ~= '' and ARG.evidenceEventId == ARG.lastEventId then redis.call('HDEL', cred, 'ei') else redis.call('HSET', cred, 'ei', ARG.evidenceEventId) end
-- Small values keep the hash in Redis's compact listpack encoding: an empty excerpt is not stored.
if excerpt == '' then redis.call('HDEL', cred, 'rm', 'ex') else redis.call('HSET', cred, 'ex', excerpt); redis.call('HDEL', cred, 'rm') end
redis.call('PERSIST', cred)
if prev and prev ~= newcat then redis.call('ZREM', P .. ':cat:' .. provider .. ':' .. prev, user) end
-- UNINDEXED_CATEGORY (healthy) has no index: its count comes from the schedule (category-index.ts).
if (prev ~= newcat or wasRemoved) and newcat ~= UNINDEXED_CATEGORY then
  redis.call('ZADD', P .. ':cat:' .. provider .. ':' .. newcat, tonumber(ARG.sinceMs), user)
end
-- The poll-age histogram (poll-ages.ts): the count moves from the second of the previous poll to this one's.
-- A credential is counted while it has a state and is not removed (mark-removed.lua took it out).
local ages = P .. ':pollage:' .. provider
if prev and not wasRemoved then
  local second = tostring(math.floor(lp / 1000))
  if redis.call('HINCRBY', ages, second, -1) <= 0 then redis.call('HDEL', ages, second) end
end
redis.call('HINCRBY', ages, tostring(math.floor(observed / 1000)), 1)
-- The credential id index, in buckets (index-buckets.lua); a replaced id also leaves the legacy hash.
if oldCid and oldCid ~= '' and oldCid ~= cid then
  redis.call('HDEL', credentialIdIndexKey(P, oldCid), oldCid)
  redis.call('HDEL', legacyCredentialIdIndexKey(P), oldCid)
end
if cid ~= '' then redis.call('HSET', credentialIdIndexKey(P, cid), cid, provider .. ':' .. user) end
-- The cached credential object (its tokens are never here), refreshed only when this poll fetched it.
if ARG.credentialFetchedAtMs ~= '' then redis.call('HSET', cred, 'cs', ARG.credentialStatus, 'cf', ARG.credentialFetchedAtMs) end
-- The next poll: out of the lease of whichever class claimed it, into the class of its new category.
for _, k in ipairs(dueKeys(P, provider)) do redis.call('ZREM', k, user) end
redis.call('ZADD', P .. ':due:' .. provider .. ':' .. ARG.scheduleClass, ARG.nextDueMs, user)
-- What polls cost, per minute: the capacity report divides requests by polls over the last minutes.
local minute = math.floor(observed / 60000)
redis.call('HINCRBY', P .. ':pollcost', 'p' .. minute, 1)
redis.call('HINCRBY', P .. ':pollcost', 'r' .. minute, ARG.leafRequests)
if prev == newcat or (not prev and newcat == 'healthy') then return {'same', '', prevCursor} end
local t = cjson.decode(ARG.transitionTemplate)
t['id'] = 't' .. redis.call('INCR', P .. ':seq:transition')
t['from'] = prev or cjson.null
t['since'] = since
local gx, gn, gm = redis.call('HGET', cred, 'gx'), redis.call('HGET', cred, 'gn'), redis.call('HGET', cred, 'gm')
if gx or gn or gm then t['grower'] = {externalId = gx or cjson.null, name = gn or cjson.null, email = gm or cjson.null} end
local json = cjson.encode(t)
local hist = P .. ':hist:' .. provider .. ':' .. user
redis.call('LPUSH', hist, json)
redis.call('LTRIM', hist, 0, tonumber(ARG.historyLimit) - 1)
redis.call('XADD', P .. ':' .. OUTBOX_STREAM, '*', 't', json)
return {'transition', json, prevCursor}
