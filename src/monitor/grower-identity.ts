/**
 * Who a credential belongs to, as Leaf lists the user: the app's own id for the grower (`externalId`),
 * `name` and `email`. Kept as three short fields of the credential's state hash (`gx`, `gn`, `gm`; empty
 * ones not stored, so the hash stays small and listpack-encoded at 100 000 credentials), plus the
 * externalId index, externalId → the Leaf user ids with it (NUL-separated, almost always one), in
 * buckets (bucketed-index.ts): one HGET finds them, and the entry follows the user when the externalId
 * changes or the user is removed. Two earlier layouts are still read and emptied: one unbucketed hash
 * `{prefix}:growers:byext`, and the sorted set `{prefix}:growers:ext` (members `externalId NUL leafUserId`).
 */
import type { Redis } from 'ioredis';
import { loadLuaScript } from '../core/lua-script.js';
import { STATE_FIELD } from './state-fields.js';
import { externalIdIndexKey, INDEX_BUCKETS, INDEX_BUCKETS_LUA, legacyIndexKeys } from './bucketed-index.js';

/** A grower as the API, status page, audit and webhooks show it; null fields Leaf did not give. */
export interface GrowerIdentity {
  externalId: string | null;
  name: string | null;
  email: string | null;
}

/** What the sweep lists for one user (LeafUser, or anything with these fields). */
export interface ListedUser {
  id: string;
  name?: string | undefined;
  email?: string | undefined;
  externalId?: string | undefined;
}

/** Longest value kept per field: a hostile listing must not bloat every hash. */
const MAX_FIELD_CHARS = 200;

/** The index member separator: NUL never occurs in an externalId Leaf returns as JSON text we keep. */
const SEP = '\u0000';

/** Key of the former externalId index (a sorted set), read until the sweeps have emptied it. */
function formerIndexKey(prefix: string): string {
  return `${prefix}:growers:ext`;
}

/** Lua: the index's functions (indexAdd, indexRemove), shared with the removal script. */
export const GROWER_INDEX = new URL('./scripts/grower-index.lua', import.meta.url);

/** Marks a user seen and writes its identity, moving its index entry (scripts/record-seen.lua). */
const RECORD_SEEN = loadLuaScript(new URL('./scripts/record-seen.lua', import.meta.url), {
  constants: { INDEX_BUCKETS },
  include: [INDEX_BUCKETS_LUA, GROWER_INDEX],
});

function clean(value: string | undefined): string {
  // NUL would break the index member; control characters have no place in a name.
  const text = [...(value ?? '')].map((ch) => (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f ? ' ' : ch)).join('');
  return text.trim().slice(0, MAX_FIELD_CHARS);
}

/** Marks users seen at `atMs` and records their identity: one pipelined round trip per page. */
export async function recordSeenUsers(
  redis: Redis,
  prefix: string,
  credKey: (provider: string, userId: string) => string,
  providers: readonly string[],
  users: readonly ListedUser[],
  atMs: number,
): Promise<void> {
  if (users.length === 0) return;
  const pipeline = redis.pipeline();
  for (const user of users) {
    for (const provider of providers) {
      RECORD_SEEN.queue(
        pipeline,
        [credKey(provider, user.id)],
        [prefix, user.id, String(atMs), clean(user.externalId), clean(user.name), clean(user.email)],
      );
    }
  }
  await pipeline.exec();
}

/** Leaf user ids whose externalId is exactly `externalId` (at most `limit`). */
export async function userIdsByExternalId(redis: Redis, prefix: string, externalId: string, limit = 100): Promise<string[]> {
  const [joined, legacy, former] = await Promise.all([
    redis.hget(externalIdIndexKey(prefix, externalId), externalId),
    redis.hget(legacyIndexKeys(prefix).externalId, externalId),
    redis.zrangebylex(formerIndexKey(prefix), `[${externalId}${SEP}`, `(${externalId}\u0001`, 'LIMIT', 0, limit),
  ]);
  const users = new Set([...(joined === null ? [] : joined.split(SEP)), ...(legacy === null ? [] : legacy.split(SEP))]);
  for (const member of former) users.add(member.slice(externalId.length + 1));
  return [...users].slice(0, limit);
}

/** The identity held in a credential hash, or null when Leaf gave none. */
export function growerFromHash(h: Record<string, string>): GrowerIdentity | null {
  const externalId = h[STATE_FIELD.growerExternalId] || null;
  const name = h[STATE_FIELD.growerName] || null;
  const email = h[STATE_FIELD.growerEmail] || null;
  return externalId === null && name === null && email === null ? null : { externalId, name, email };
}
