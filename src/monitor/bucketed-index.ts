/**
 * The two lookup indexes of the credential state, each split into INDEX_BUCKETS small hashes:
 * `{prefix}:credid:{bucket}` (credential id → `provider:leafUserId`; Leaf alerts carry only the
 * credential id) and `{prefix}:growers:byext:{bucket}` (externalId → the Leaf user ids with it,
 * NUL-separated). One big hash of 100 000 fields is a hashtable of 100 to 160 bytes per entry; a small
 * one (at most `hash-max-listpack-entries`, 512 by default) is one listpack, 50 to 90 bytes per entry.
 * The bucket is a hash of the field computed the same way here and in Lua (scripts/index-buckets.lua),
 * and every reader and writer of these keys goes through this module or that file.
 *
 * They replaced one hash each (`{prefix}:credid`, `{prefix}:growers:byext`): the writers still remove
 * entries from those, the readers still read them, and `moveLegacyIndexEntries` (run at the scheduler's
 * start) moves what is left into the buckets.
 */
import type { Redis } from 'ioredis';
import { loadLuaScript } from '../core/lua-script.js';

/**
 * Buckets per index. Redis keeps a hash listpack-encoded up to `hash-max-listpack-entries` fields (512
 * by default; 128 is the default for sorted sets): 1 024 buckets hold about 100 entries each at 100 000
 * credentials, so they stay listpack-encoded up to about 400 000 (a fuller bucket turns into a hashtable:
 * bigger, still correct). Changing it moves every entry: it would need a migration like moveLegacyIndexEntries.
 */
export const INDEX_BUCKETS = 1024;

/** The Lua twin of indexBucket and the key builders (included by the scripts that touch the indexes). */
export const INDEX_BUCKETS_LUA = new URL('./scripts/index-buckets.lua', import.meta.url);

/** The bucket of a field: a multiplicative hash (×33, mod 2³²) of its UTF-8 bytes, mod INDEX_BUCKETS (pure). */
export function indexBucket(field: string): number {
  let h = 0;
  // Plain arithmetic, exact in doubles (h·33 + 255 < 2⁵³): Lua 5.1 has no integer bit operations.
  for (const byte of Buffer.from(field, 'utf8')) h = (h * 33 + byte) % 4_294_967_296;
  return h % INDEX_BUCKETS;
}

/** Key of the bucket holding `credentialId` in the credential id index. */
export function credentialIdIndexKey(prefix: string, credentialId: string): string {
  return `${prefix}:credid:${indexBucket(credentialId)}`;
}

/** Key of the bucket holding `externalId` in the externalId index. */
export function externalIdIndexKey(prefix: string, externalId: string): string {
  return `${prefix}:growers:byext:${indexBucket(externalId)}`;
}

/** The unbucketed hashes these replaced, read and emptied during the transition. */
export function legacyIndexKeys(prefix: string): { credentialId: string; externalId: string } {
  return { credentialId: `${prefix}:credid`, externalId: `${prefix}:growers:byext` };
}

/** Moves a batch of fields of a legacy index into their buckets (scripts/move-legacy-index.lua). */
const MOVE_LEGACY = loadLuaScript(new URL('./scripts/move-legacy-index.lua', import.meta.url), {
  constants: { INDEX_BUCKETS },
  include: [INDEX_BUCKETS_LUA, new URL('./scripts/grower-index.lua', import.meta.url)],
});

/**
 * Moves the entries of the legacy unbucketed hashes into the buckets, then deletes them: idempotent,
 * safe while workers run (each field moves atomically, and the writers remove entries from both
 * layouts). Returns how many fields moved.
 */
export async function moveLegacyIndexEntries(redis: Redis, prefix: string): Promise<number> {
  let moved = 0;
  const legacy = legacyIndexKeys(prefix);
  for (const [kind, key] of [
    ['credid', legacy.credentialId],
    ['byext', legacy.externalId],
  ] as const) {
    let cursor = '0';
    do {
      // Fields are deleted as they move; a scan still returns every field present throughout.
      const [next, flat] = await redis.hscan(key, cursor, 'COUNT', 500);
      cursor = next;
      const fields = [...new Set(flat.filter((_, i) => i % 2 === 0))];
      if (fields.length > 0) moved += Number(await MOVE_LEGACY.run(redis, [key], [prefix, kind, ...fields]));
    } while (cursor !== '0');
  }
  return moved;
}
