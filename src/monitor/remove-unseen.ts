/**
 * Removal of the credentials of users Leaf no longer lists: the sweep calls it with the start of the
 * previous sweep. A removed credential leaves every index, count and the schedule; its state and history
 * are kept REMOVED_RETENTION_MS for the API, and a poll that sees it again brings it back.
 */
import type { Redis } from 'ioredis';
import { loadLuaScript } from '../core/lua-script.js';
import type { ProviderId } from '../core/providers.js';
import { INDEX_BUCKETS, INDEX_BUCKETS_LUA } from './bucketed-index.js';
import { GROWER_INDEX } from './grower-identity.js';
import { oldestPollSeconds } from './poll-ages.js';
import { SCHEDULE_CLASSES, scheduleKey } from './poll-schedule.js';
import { credentialKey, STATE_FIELD as F } from './state-fields.js';

/** How long a removed credential's state and history are kept. */
const REMOVED_RETENTION_MS = 30 * 86_400_000;

/** Takes a credential out of every index and lets it expire (scripts/mark-removed.lua). */
const MARK_REMOVED = loadLuaScript(new URL('./scripts/mark-removed.lua', import.meta.url), {
  constants: { INDEX_BUCKETS },
  include: [new URL('./scripts/due-keys.lua', import.meta.url), INDEX_BUCKETS_LUA, GROWER_INDEX],
});

/**
 * Marks removed the credentials of users that no sweep listed since `sinceMs` and that were not polled
 * since either. The poll-age histogram says whether any credential was not polled since then, so this
 * costs one read when nothing disappeared; otherwise it goes through the provider's schedule (every
 * credential is in one class), 500 at a time. Returns how many were marked.
 */
export async function removeUnseenCredentials(
  redis: Redis,
  prefix: string,
  providers: readonly ProviderId[],
  sinceMs: number,
  nowMs: number,
): Promise<number> {
  let removed = 0;
  const oldest = await oldestPollSeconds(redis, prefix, providers);
  for (const [p, provider] of providers.entries()) {
    const second = oldest[p];
    if (second === null || second === undefined || second * 1000 >= sinceMs) continue;
    for (const cls of SCHEDULE_CLASSES) {
      let cursor = '0';
      do {
        const [next, flat] = await redis.zscan(scheduleKey(prefix, provider, cls), cursor, 'COUNT', 500);
        cursor = next;
        const users = flat.filter((_, i) => i % 2 === 0);
        removed += await removeGone(redis, prefix, provider, users, sinceMs, nowMs);
      } while (cursor !== '0');
    }
  }
  return removed;
}

/** Marks removed those of `users` with a state, neither listed nor polled since `sinceMs` (two round trips). */
async function removeGone(
  redis: Redis,
  prefix: string,
  provider: ProviderId,
  users: readonly string[],
  sinceMs: number,
  nowMs: number,
): Promise<number> {
  if (users.length === 0) return 0;
  const read = redis.pipeline();
  for (const user of users) read.hmget(credentialKey(prefix, provider, user), F.category, F.removedAtMs, F.lastPolledMs, F.seenAtMs);
  const rows = (await read.exec()) ?? [];
  const gone = users.filter((_, i) => {
    const [cat, rm, lp, sn] = (rows[i]?.[1] ?? []) as Array<string | null>;
    return typeof cat === 'string' && !rm && Number(lp ?? 0) < sinceMs && Number(sn ?? 0) < sinceMs;
  });
  if (gone.length === 0) return 0;
  const pipeline = redis.pipeline();
  for (const user of gone)
    MARK_REMOVED.queue(
      pipeline,
      [credentialKey(prefix, provider, user)],
      [prefix, provider, user, String(nowMs), String(REMOVED_RETENTION_MS), String(sinceMs)],
    );
  const results = (await pipeline.exec()) ?? [];
  // A concurrent poll or removal may have got there first: count what this call marked.
  return results.filter(([, marked]) => Number(marked) === 1).length;
}
