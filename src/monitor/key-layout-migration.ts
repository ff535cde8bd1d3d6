/**
 * Moves an installation's Redis keys from the layout before issue 17 (memory) to the current one, at the
 * scheduler's start. Idempotent: on the current layout it finds nothing to do (a few EXISTS). Safe while
 * workers of this version run; workers of an earlier version (a rolling upgrade) still write the old keys,
 * which the next scheduler start moves again.
 * - the unbucketed credential id and externalId hashes → their buckets (bucketed-index.ts);
 * - the `healthy` category index → deleted (category-index.ts: healthy has no index);
 * - the poll-age sorted set `polled:{provider}` → the poll-age histogram (poll-ages.ts), built from
 *   the state hashes in one atomic script (0.75 s of Redis time at 100 000 credentials on the 2-core
 *   bench machine, once).
 */
import type { Redis } from 'ioredis';
import { loadLuaScript } from '../core/lua-script.js';
import type { ProviderId } from '../core/providers.js';
import { moveLegacyIndexEntries } from './bucketed-index.js';
import { credentialKey } from './state-fields.js';
import { categoryIndexKey, UNINDEXED_CATEGORY } from './category-index.js';
import { pollAgesKey } from './poll-ages.js';
import { scheduleKey } from './poll-schedule.js';

/** Builds the poll-age histogram from the state and deletes the old sorted set (scripts/rebuild-poll-ages.lua). */
const REBUILD_POLL_AGES = loadLuaScript(new URL('./scripts/rebuild-poll-ages.lua', import.meta.url));

/** What the migration did (all zero on the current layout). */
export interface KeyLayoutMigration {
  indexEntriesMoved: number;
  healthyIndexesDeleted: number;
  pollAgesRebuilt: number;
}

/** Brings the keys under `prefix` to the current layout (see the module comment). */
export async function migrateKeyLayout(
  redis: Redis,
  prefix: string,
  providers: readonly ProviderId[],
  nowMs: number,
): Promise<KeyLayoutMigration> {
  const indexEntriesMoved = await moveLegacyIndexEntries(redis, prefix);
  let healthyIndexesDeleted = 0;
  let pollAgesRebuilt = 0;
  for (const provider of providers) {
    healthyIndexesDeleted += await redis.del(categoryIndexKey(prefix, provider, UNINDEXED_CATEGORY));
    const old = `${prefix}:polled:${provider}`;
    if ((await redis.exists(old)) === 0) continue;
    pollAgesRebuilt += Number(
      await REBUILD_POLL_AGES.run(
        redis,
        [
          old,
          pollAgesKey(prefix, provider),
          scheduleKey(prefix, provider, 'new'),
          scheduleKey(prefix, provider, 'failing'),
          scheduleKey(prefix, provider, 'healthy'),
        ],
        [credentialKey(prefix, provider, ''), String(nowMs)],
      ),
    );
  }
  return { indexEntriesMoved, healthyIndexesDeleted, pollAgesRebuilt };
}
