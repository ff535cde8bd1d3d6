-- The bucketed lookup indexes (bucketed-index.ts): the bucket of a field is a multiplicative hash of its
-- bytes (x33, mod 2^32), mod INDEX_BUCKETS, exactly as indexBucket computes it. Loaded after the constant
-- INDEX_BUCKETS.
local function indexBucket(field)
  local h = 0
  for i = 1, #field do h = (h * 33 + string.byte(field, i)) % 4294967296 end
  return h % INDEX_BUCKETS
end
local function credentialIdIndexKey(P, cid) return P .. ':credid:' .. indexBucket(cid) end
local function externalIdIndexKey(P, ext) return P .. ':growers:byext:' .. indexBucket(ext) end
-- The unbucketed hashes they replaced (legacyIndexKeys): entries are still removed from them.
local function legacyCredentialIdIndexKey(P) return P .. ':credid' end
local function legacyExternalIdIndexKey(P) return P .. ':growers:byext' end
