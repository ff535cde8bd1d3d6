import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { legacyIndexKeys } from '../src/monitor/bucketed-index.js';
import { CredentialStore } from '../src/monitor/credential-store.js';
import { migrateKeyLayout } from '../src/monitor/key-layout-migration.js';
import { pollAgesKey } from '../src/monitor/poll-ages.js';
import { scheduleKey } from '../src/monitor/poll-schedule.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';

describe('the key layout migration at the scheduler start (real Redis)', () => {
  let prefix: string;
  let redis: Redis;
  let cleanup: () => Promise<void>;
  let store: CredentialStore;

  beforeEach(async () => {
    prefix = uniquePrefix('key-layout');
    ({ redis, cleanup } = await testRedis(prefix));
    store = new CredentialStore(redis, prefix, { historyLimit: 5, providers: ['panorama'] });
  });
  afterEach(async () => cleanup());

  /** Three credentials as an earlier version wrote them; `orphan` is in no schedule class. */
  async function seedEarlierLayout(): Promise<void> {
    const users = [
      { id: 'h1', cat: 'healthy', lp: 1_000, cls: 'healthy' },
      { id: 'f1', cat: 'cognito_token_expired', lp: 3_500, cls: 'failing' },
      { id: 'orphan', cat: 'healthy', lp: 7_000, cls: null },
    ];
    for (const u of users) {
      await redis.hset(`${prefix}:cred:panorama:${u.id}`, 'cat', u.cat, 'lp', String(u.lp), 'since', '2026-11-01T00:00:00.000Z');
      await redis.hset(`${prefix}:cred:panorama:${u.id}`, 'c', `cred-${u.id}`, 'gx', `crm-${u.id}`, 'act', 'none');
      await redis.zadd(`${prefix}:polled:panorama`, u.lp, u.id);
      await redis.zadd(`${prefix}:cat:panorama:${u.cat}`, 0, u.id);
      if (u.cls !== null) await redis.zadd(scheduleKey(prefix, 'panorama', u.cls as 'healthy'), u.lp + 60_000, u.id);
      await redis.hset(legacyIndexKeys(prefix).credentialId, `cred-${u.id}`, `panorama:${u.id}`);
      await redis.hset(legacyIndexKeys(prefix).externalId, `crm-${u.id}`, u.id);
    }
  }

  it('moves the indexes, deletes the healthy index and the polled set, and builds the poll-age histogram; a second run does nothing', async () => {
    await seedEarlierLayout();
    // The readers tolerate the earlier layout before the migration ran.
    expect(await store.findByCredentialId('cred-f1')).toEqual({ provider: 'panorama', leafUserId: 'f1' });
    expect((await store.findByExternalId('panorama', 'crm-h1')).map((s) => s.leafUserId)).toEqual(['h1']);

    expect(await migrateKeyLayout(redis, prefix, ['panorama'], 10_000)).toEqual({
      indexEntriesMoved: 6,
      healthyIndexesDeleted: 1,
      pollAgesRebuilt: 3,
    });
    expect(await redis.hgetall(pollAgesKey(prefix, 'panorama'))).toEqual({ '1': '1', '3': '1', '7': '1' });
    expect(await redis.exists(`${prefix}:polled:panorama`, `${prefix}:cat:panorama:healthy`)).toBe(0);
    expect(await redis.exists(legacyIndexKeys(prefix).credentialId, legacyIndexKeys(prefix).externalId)).toBe(0);
    // The credential the schedule did not hold is due now, as a new one.
    expect(await redis.zscore(scheduleKey(prefix, 'panorama', 'new'), 'orphan')).toBe('10000');
    expect(await store.findByCredentialId('cred-f1')).toEqual({ provider: 'panorama', leafUserId: 'f1' });
    expect((await store.findByExternalId('panorama', 'crm-h1')).map((s) => s.leafUserId)).toEqual(['h1']);
    expect(await store.oldestPollAges(11_000)).toEqual([{ provider: 'panorama', ageSeconds: 10 }]);

    expect(await migrateKeyLayout(redis, prefix, ['panorama'], 20_000)).toEqual({
      indexEntriesMoved: 0,
      healthyIndexesDeleted: 0,
      pollAgesRebuilt: 0,
    });
    // The histogram follows the next polls exactly: h1 moves from second 1 to second 12.
    await store.applyPoll(
      {
        provider: 'panorama',
        leafUserId: 'h1',
        observedAtMs: 12_000,
        credentialId: 'cred-h1',
        clientEnvironment: 'PRODUCTION',
        category: 'healthy',
        action: 'none',
        since: '',
        ruleId: 'status.2xx',
        reason: 'ok',
        evidence: { eventId: null, statusCode: 200, excerpt: '' },
        cursorMs: null,
        lastEventId: null,
      },
      new Date(12_000),
    );
    expect(await redis.hgetall(pollAgesKey(prefix, 'panorama'))).toEqual({ '3': '1', '7': '1', '12': '1' });
  });
});
