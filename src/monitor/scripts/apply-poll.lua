-- One script writes the state, the indexes, the history and the outbox entry, so a transition can never
-- be lost or doubled between steps, whichever worker dies or races. Keys are built from the prefix; with a
-- hash-tagged prefix they all live in one Redis Cluster slot. Loaded by credential-store.ts, after
-- OUTBOX_STREAM and due-keys.lua.
--
-- ARGV, in order: 1 prefix, 2 provider, 3 Leaf user id, 4 observed at (ms), 5 category, 6 action, 7 since,
-- 8 credential id, 9 client environment, 10 cursor (ms), 11 last event id, 12 rule id, 13 reason,
-- 14 evidence event id, 15 history limit, 16 transition template (JSON), 17 since (ms), 18 evidence
-- status, 19 evidence excerpt, 20 schedule class, 21 next due (ms), 22 Leaf requests the poll made,
-- 23 credential status, 24 when the credential object was fetched (ms; '' when the cached one was used).
local cred = KEYS[1]
local P, provider, user = ARGV[1], ARGV[2], ARGV[3]
local observed = tonumber(ARGV[4])
local lp = tonumber(redis.call('HGET', cred, 'lp') or '0')
local prevCursor = redis.call('HGET', cred, 'cur') or ''
if observed < lp then return {'stale', '', prevCursor} end
local prev = redis.call('HGET', cred, 'cat')
local newcat = ARGV[5]
local since = ARGV[7]
if prev == newcat then since = redis.call('HGET', cred, 'since') or since end
local oldCid = redis.call('HGET', cred, 'c')
local wasRemoved = redis.call('HGET', cred, 'rm')
local cid = ARGV[8]
redis.call('HSET', cred, 'cat', newcat, 'act', ARGV[6], 'since', since, 'lp', ARGV[4], 'c', cid, 'e', ARGV[9],
  'cur', ARGV[10], 'cid', ARGV[11], 'rule', ARGV[12], 'reason', ARGV[13], 'ei', ARGV[14], 'es', ARGV[18], 'f', '0')
-- Small values keep the hash in Redis's compact listpack encoding: an empty excerpt is not stored.
if ARGV[19] == '' then redis.call('HDEL', cred, 'rm', 'ex') else redis.call('HSET', cred, 'ex', ARGV[19]); redis.call('HDEL', cred, 'rm') end
redis.call('PERSIST', cred)
if prev and prev ~= newcat then redis.call('ZREM', P .. ':cat:' .. provider .. ':' .. prev, user) end
if prev ~= newcat or wasRemoved then redis.call('ZADD', P .. ':cat:' .. provider .. ':' .. newcat, tonumber(ARGV[17]), user) end
redis.call('ZADD', P .. ':polled:' .. provider, observed, user)
if oldCid and oldCid ~= '' and oldCid ~= cid then redis.call('HDEL', P .. ':credid', oldCid) end
if cid ~= '' then redis.call('HSET', P .. ':credid', cid, provider .. ':' .. user) end
-- The cached credential object (its tokens are never here), refreshed only when this poll fetched it.
if ARGV[24] ~= '' then redis.call('HSET', cred, 'cs', ARGV[23], 'cf', ARGV[24]) end
-- The next poll: out of the lease of whichever class claimed it, into the class of its new category.
for _, k in ipairs(dueKeys(P, provider)) do redis.call('ZREM', k, user) end
redis.call('ZADD', P .. ':due:' .. provider .. ':' .. ARGV[20], ARGV[21], user)
-- What polls cost, per minute: the capacity report divides requests by polls over the last minutes.
local minute = math.floor(observed / 60000)
redis.call('HINCRBY', P .. ':pollcost', 'p' .. minute, 1)
redis.call('HINCRBY', P .. ':pollcost', 'r' .. minute, ARGV[22])
if prev == newcat or (not prev and newcat == 'healthy') then return {'same', '', prevCursor} end
local t = cjson.decode(ARGV[16])
t['id'] = 't' .. redis.call('INCR', P .. ':seq:transition')
t['from'] = prev or cjson.null
t['since'] = since
local gx, gn, gm = redis.call('HGET', cred, 'gx'), redis.call('HGET', cred, 'gn'), redis.call('HGET', cred, 'gm')
if gx or gn or gm then t['grower'] = {externalId = gx or cjson.null, name = gn or cjson.null, email = gm or cjson.null} end
local json = cjson.encode(t)
local hist = P .. ':hist:' .. provider .. ':' .. user
redis.call('LPUSH', hist, json)
redis.call('LTRIM', hist, 0, tonumber(ARGV[15]) - 1)
redis.call('XADD', P .. ':' .. OUTBOX_STREAM, '*', 't', json)
return {'transition', json, prevCursor}
