/**
 * When credentials were last polled, as a histogram per provider: `{prefix}:pollage:{provider}`, a hash
 * of the second of a last poll (Unix seconds) → how many credentials (with a state, not removed) had
 * their last poll applied in that second. apply-poll.lua moves a credential's count from the second of
 * its previous poll to this one's; mark-removed.lua takes it out. It answers what the sorted set
 * `{prefix}:polled:{provider}` (every credential scored by its last poll, about 145 bytes each) answered,
 * to the second: the oldest poll age (status page, metrics), how many credentials were polled within a
 * window (the incident share), and whether any credential was not polled since a time (removeUnseen,
 * which then finds which ones in the schedule). Its size is the number of distinct seconds, not of
 * credentials: about 900 fields at a 15-minute poll interval.
 */
import type { Redis } from 'ioredis';

/** Redis key of one provider's poll-age histogram. */
export function pollAgesKey(prefix: string, provider: string): string {
  return `${prefix}:pollage:${provider}`;
}

/** The histogram's field (the second) of a poll at `ms` (pure; apply-poll.lua computes the same). */
export function pollAgeSecond(ms: number): number {
  return Math.floor(ms / 1000);
}

/** The earliest second with a credential whose last poll was in it, per provider; null when none. */
export async function oldestPollSeconds(redis: Redis, prefix: string, providers: readonly string[]): Promise<Array<number | null>> {
  const pipeline = redis.pipeline();
  for (const provider of providers) pipeline.hkeys(pollAgesKey(prefix, provider));
  const results = (await pipeline.exec()) ?? [];
  return providers.map((_, i) => {
    const seconds = ((results[i]?.[1] ?? []) as string[]).map(Number).filter(Number.isFinite);
    return seconds.length === 0 ? null : Math.min(...seconds);
  });
}
