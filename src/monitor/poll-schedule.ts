import type { Redis } from 'ioredis';
import type { Category } from '../classify/categories.js';
import { loadLuaScript } from '../core/lua-script.js';
import type { ProviderId } from '../core/providers.js';

/**
 * Risk classes of the schedule, in the order their due polls are released: credentials never polled
 * first (nothing is known of them), then failing ones (to see a recovery soon), then healthy ones. Leaf
 * alerts and manual polls skip the schedule: they go straight to the poll queue at a higher priority.
 */
export const SCHEDULE_CLASSES = ['new', 'failing', 'healthy'] as const;

/** One of SCHEDULE_CLASSES. */
export type ScheduleClass = (typeof SCHEDULE_CLASSES)[number];

/** The poll queue priority of each class (lower is sooner; manual and alert polls use 1). */
export const CLASS_PRIORITY: Readonly<Record<ScheduleClass, number>> = { new: 5, failing: 6, healthy: 10 };

/** Intervals the next due time is computed from. */
export interface ScheduleIntervals {
  pollIntervalMs: number;
  failingRecheckMs: number;
}

/** The configuration's defaults (CREDWATCH_POLL_INTERVAL, CREDWATCH_FAILING_RECHECK_INTERVAL). */
export const DEFAULT_INTERVALS: ScheduleIntervals = { pollIntervalMs: 15 * 60_000, failingRecheckMs: 5 * 60_000 };

/** The class a credential goes to after a poll found it in `category` (pure). */
export function scheduleClassOf(category: Category): ScheduleClass {
  // not_connected is a steady state, not a failure to watch closely: it is re-checked like a healthy one.
  return category === 'healthy' || category === 'not_connected' ? 'healthy' : 'failing';
}

/**
 * When a credential polled at `polledAtMs` and found in `category` (since `sinceMs`) is due again (pure).
 * A healthy one after the poll interval. A failing one after the failing re-check interval while its
 * failure is new, backing off to half the failure's age as it lasts, and never later than a healthy one:
 * a grower who just got a re-auth webhook is likely to reconnect soon, one broken for weeks is not, and a
 * fleet with many long-broken credentials must not spend its budget re-checking them.
 */
export function nextDueMs(category: Category, polledAtMs: number, sinceMs: number, intervals: ScheduleIntervals): number {
  const { pollIntervalMs, failingRecheckMs } = intervals;
  if (scheduleClassOf(category) === 'healthy') return polledAtMs + pollIntervalMs;
  const age = Number.isFinite(sinceMs) ? Math.max(0, polledAtMs - sinceMs) : 0;
  return polledAtMs + Math.min(pollIntervalMs, Math.max(failingRecheckMs, Math.floor(age / 2)));
}

/** Redis key of one provider's class (a sorted set of Leaf user ids scored by due time, ms). */
export function scheduleKey(prefix: string, provider: string, cls: ScheduleClass): string {
  return `${prefix}:due:${provider}:${cls}`;
}

/** Claims due polls, most urgent class first (scripts/claim-polls.lua). */
const CLAIM = loadLuaScript(new URL('./scripts/claim-polls.lua', import.meta.url));
/** Adds listed users to the schedule or makes them due (scripts/schedule-users.lua). */
const ADD_USERS = loadLuaScript(new URL('./scripts/schedule-users.lua', import.meta.url));

/** One claimed poll: whose, and from which class. */
export interface ClaimedPoll {
  provider: ProviderId;
  leafUserId: string;
  cls: ScheduleClass;
}

/** Counts of one class: all members, and those due now. */
export interface ScheduleCounts {
  provider: ProviderId;
  cls: ScheduleClass;
  total: number;
  due: number;
}

/**
 * The poll schedule in Redis: each credential's next due time, in one sorted set per provider and risk
 * class. Shared by every process (claims are atomic), so it survives restarts and scales out.
 */
export class PollSchedule {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly providers: readonly ProviderId[],
    /** How long a claimed poll may take before it is due again (default 10 min). */
    private readonly leaseMs = 10 * 60_000,
  ) {}

  private classKeys(provider: string): [string, string, string] {
    return [
      scheduleKey(this.prefix, provider, 'new'),
      scheduleKey(this.prefix, provider, 'failing'),
      scheduleKey(this.prefix, provider, 'healthy'),
    ];
  }

  /** Users a listing found: those in no set are added as `new`, due at `nowMs`. Returns how many. */
  async addListed(userIds: readonly string[], nowMs: number): Promise<number> {
    return this.addUsers(userIds, nowMs, 'listed');
  }

  /**
   * Makes these users due at `nowMs` (a manual sweep, a changed rule: polled again in risk order, within
   * the budget), for every provider or only `provider`.
   */
  async makeDue(userIds: readonly string[], nowMs: number, provider?: ProviderId): Promise<void> {
    await this.addUsers(userIds, nowMs, 'now', provider);
  }

  private async addUsers(userIds: readonly string[], nowMs: number, mode: 'listed' | 'now', only?: ProviderId): Promise<number> {
    if (userIds.length === 0) return 0;
    let added = 0;
    for (const provider of only === undefined ? this.providers : [only]) {
      added += Number(await ADD_USERS.run(this.redis, this.classKeys(provider), [String(nowMs), mode, ...userIds]));
    }
    return added;
  }

  /** Claims up to `limit` due polls, most urgent class first and oldest due first within a class. */
  async claim(limit: number, nowMs: number): Promise<ClaimedPoll[]> {
    if (limit <= 0) return [];
    const keys: string[] = [];
    const owners: Array<{ provider: ProviderId; cls: ScheduleClass }> = [];
    for (const cls of SCHEDULE_CLASSES) {
      for (const provider of this.providers) {
        keys.push(scheduleKey(this.prefix, provider, cls));
        owners.push({ provider, cls });
      }
    }
    const reply = (await CLAIM.run(this.redis, keys, [String(nowMs), String(Math.floor(limit)), String(nowMs + this.leaseMs)])) as Array<
      number | string
    >;
    const claimed: ClaimedPoll[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const owner = owners[Number(reply[i]) - 1];
      if (owner) claimed.push({ ...owner, leafUserId: String(reply[i + 1]) });
    }
    return claimed;
  }

  /** Members and due members of every class, per provider (one round trip). */
  async counts(nowMs: number): Promise<ScheduleCounts[]> {
    const pipeline = this.redis.pipeline();
    const rows: Array<{ provider: ProviderId; cls: ScheduleClass }> = [];
    for (const provider of this.providers) {
      for (const cls of SCHEDULE_CLASSES) {
        rows.push({ provider, cls });
        pipeline.zcard(scheduleKey(this.prefix, provider, cls));
        pipeline.zcount(scheduleKey(this.prefix, provider, cls), '-inf', String(nowMs));
      }
    }
    const results = (await pipeline.exec()) ?? [];
    return rows.map((row, i) => ({ ...row, total: Number(results[2 * i]?.[1] ?? 0), due: Number(results[2 * i + 1]?.[1] ?? 0) }));
  }

  /** When the user's next poll is due (ms) and in which class; null when it is not scheduled. */
  async dueOf(provider: ProviderId, leafUserId: string): Promise<{ cls: ScheduleClass; dueMs: number } | null> {
    const pipeline = this.redis.pipeline();
    for (const cls of SCHEDULE_CLASSES) pipeline.zscore(scheduleKey(this.prefix, provider, cls), leafUserId);
    const results = (await pipeline.exec()) ?? [];
    for (let i = 0; i < SCHEDULE_CLASSES.length; i += 1) {
      const score = results[i]?.[1];
      if (typeof score === 'string') return { cls: SCHEDULE_CLASSES[i] as ScheduleClass, dueMs: Number(score) };
    }
    return null;
  }
}
