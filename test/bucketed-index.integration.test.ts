import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PollObservation } from '../src/monitor/apply-poll-args.js';
import {
  credentialIdIndexKey,
  externalIdIndexKey,
  INDEX_BUCKETS,
  INDEX_BUCKETS_LUA,
  indexBucket,
  legacyIndexKeys,
  moveLegacyIndexEntries,
} from '../src/monitor/bucketed-index.js';
import { CredentialStore } from '../src/monitor/credential-store.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';

function observation(leafUserId: string, credentialId: string): PollObservation {
  return {
    provider: 'panorama',
    leafUserId,
    observedAtMs: 1_000,
    credentialId,
    clientEnvironment: 'PRODUCTION',
    category: 'healthy',
    action: 'none',
    since: '2026-11-01T00:00:00.000Z',
    ruleId: 'status.2xx',
    reason: 'ok',
    evidence: { eventId: 'e1', statusCode: 200, excerpt: '' },
    cursorMs: 500,
    lastEventId: 'e1',
  };
}

describe('the bucketed lookup indexes (real Redis, Lua)', () => {
  let prefix: string;
  let redis: Redis;
  let cleanup: () => Promise<void>;
  let store: CredentialStore;

  beforeEach(async () => {
    prefix = uniquePrefix('buckets');
    ({ redis, cleanup } = await testRedis(prefix));
    store = new CredentialStore(redis, prefix, { historyLimit: 5, providers: ['panorama'] });
  });
  afterEach(async () => cleanup());

  it('computes the same bucket in TypeScript and in Lua, for any text', async () => {
    const fields = ['', 'a', 'crm-17', '3f2a9c4e-8b1d-4c6e-9f7a-2d5b8e1c0a94', 'Grower ü ✓ 🌾', 'x'.repeat(300), '\u0000\u00ff'];
    const lua = `local INDEX_BUCKETS = ${INDEX_BUCKETS}\n${readFileSync(INDEX_BUCKETS_LUA, 'utf8')}
local out = {}
for i, f in ipairs(ARGV) do out[i] = indexBucket(f) end
return out`;
    const fromLua = (await redis.eval(lua, 0, ...fields)) as number[];
    expect(fromLua).toEqual(fields.map(indexBucket));
    for (const b of fromLua) expect(b >= 0 && b < INDEX_BUCKETS).toBe(true);
  });

  it('spreads 100 000 UUIDs so that every bucket stays far under the listpack limit (hash-max-listpack-entries, 512 by default)', () => {
    const sizes = new Array<number>(INDEX_BUCKETS).fill(0);
    for (let i = 0; i < 100_000; i += 1) {
      const id = `${(i * 2654435761) % 4294967296}`.padStart(8, '0') + '-8b1d-4c6e-9f7a-' + `${i}`.padStart(12, '0');
      sizes[indexBucket(id)] = (sizes[indexBucket(id)] ?? 0) + 1;
    }
    expect(Math.max(...sizes)).toBeLessThan(160);
  });

  it('moves the entries of the unbucketed hashes into the buckets, once, and the readers find them before and after', async () => {
    const legacy = legacyIndexKeys(prefix);
    await store.applyPoll(observation('u1', 'c1'), new Date());
    await store.markSeen(['u1'], 100, [{ id: 'u1', externalId: 'crm-1' }]);
    // An earlier version's layout: one hash each.
    await redis.hset(legacy.credentialId, 'c2', 'panorama:u2', 'c1', 'panorama:stale');
    await redis.hset(legacy.externalId, 'crm-2', 'u2\u0000u3', 'crm-1', 'u9');
    await store.applyPoll(observation('u2', 'c2'), new Date());
    await redis.hdel(credentialIdIndexKey(prefix, 'c2'), 'c2');
    expect(await store.findByCredentialId('c2')).toEqual({ provider: 'panorama', leafUserId: 'u2' });

    expect(await moveLegacyIndexEntries(redis, prefix)).toBe(4);
    expect(await redis.exists(legacy.credentialId, legacy.externalId)).toBe(0);
    expect(await redis.hget(credentialIdIndexKey(prefix, 'c2'), 'c2')).toBe('panorama:u2');
    // An entry the current version wrote wins over the legacy one.
    expect(await store.findByCredentialId('c1')).toEqual({ provider: 'panorama', leafUserId: 'u1' });
    expect(await redis.hget(externalIdIndexKey(prefix, 'crm-2'), 'crm-2')).toBe('u2\u0000u3');
    expect(await redis.hget(externalIdIndexKey(prefix, 'crm-1'), 'crm-1')).toBe('u1\u0000u9');
    expect(await moveLegacyIndexEntries(redis, prefix)).toBe(0);
  });

  it('takes a removed credential out of the buckets and of the legacy hashes', async () => {
    const legacy = legacyIndexKeys(prefix);
    await store.markSeen(['u1'], 100, [{ id: 'u1', externalId: 'crm-1' }]);
    await store.applyPoll(observation('u1', 'c1'), new Date());
    await redis.hset(legacy.credentialId, 'c1', 'panorama:u1');
    await redis.hset(legacy.externalId, 'crm-1', 'u1');
    expect(await store.removeUnseen(1_500, 2_000)).toBe(1);
    expect(await store.findByCredentialId('c1')).toBeNull();
    expect(await store.findByExternalId('panorama', 'crm-1')).toEqual([]);
    expect(await redis.exists(legacy.credentialId, legacy.externalId, credentialIdIndexKey(prefix, 'c1'))).toBe(0);
    expect(await redis.object('ENCODING', externalIdIndexKey(prefix, 'crm-1'))).toBeNull();
  });
});
