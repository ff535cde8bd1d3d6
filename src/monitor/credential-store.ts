import type { Redis } from 'ioredis';
import { loadLuaScript } from '../core/lua-script.js';
import { CATEGORIES, type Action, type Category, type ClientEnvironment } from '../classify/categories.js';
import type { Evidence } from '../classify/types.js';
import type { ProviderId } from '../core/providers.js';
import { growerFromHash, recordSeenUsers, userIdsByExternalId, type GrowerIdentity, type ListedUser } from './grower-identity.js';
import { OUTBOX_STREAM, type Transition } from './transition.js';
import { APPLY_POLL_ARGS, applyPollArgv, type PollObservation } from './apply-poll-args.js';
import { DEFAULT_INTERVALS, scheduleClassOf, scheduleKey, type ScheduleIntervals } from './poll-schedule.js';
import { oldestPollSeconds } from './poll-ages.js';
import { removeUnseenCredentials } from './remove-unseen.js';
import { credentialIdIndexKey, INDEX_BUCKETS, INDEX_BUCKETS_LUA, legacyIndexKeys } from './bucketed-index.js';
import { categoryIndexKey, INDEXED_CATEGORIES, UNINDEXED_CATEGORY, type IndexedCategory } from './category-index.js';
import { SweepRecord } from './sweep-record.js';
import { joinChunks } from './long-fields.js';
import { credentialKey, STATE_FIELD as F } from './state-fields.js';
import type { TransitionStep } from './transition-rule.js';

/** One credential's state as kept in Redis and shown by the API. */
export interface CredentialState {
  provider: ProviderId;
  leafUserId: string;
  credentialId: string | null;
  clientEnvironment: ClientEnvironment | null;
  category: Category;
  action: Action;
  since: string;
  lastPolledAt: string;
  /** createdDate (ms) of the newest event seen: events after it are new. */
  cursorMs: number | null;
  lastEventId: string | null;
  ruleId: string;
  reason: string;
  evidence: Evidence;
  consecutiveFailures: number;
  /** Set when the Leaf user disappeared from Leaf's user list. */
  removedAt: string | null;
  /** Who the credential belongs to, from Leaf's user listing; null until a sweep listed it with any. */
  grower?: GrowerIdentity | null;
}

/** What a poll knows before it asks Leaf: the cached credential object and where the event log stood. */
export interface PollContext {
  /** The cached credential object: null when it was absent (not connected), undefined when not cached. */
  cached:
    | { credential: { id: string; status: string | null; clientEnvironment: ClientEnvironment | null } | null; fetchedAtMs: number }
    | undefined;
  category: Category | null;
  cursorMs: number | null;
  lastEventId: string | null;
}

/** The outcome of applyPoll. */
export interface ApplyResult {
  /** 'stale' when a newer poll already wrote this credential (the rule: transitionStep, transition-rule.ts). */
  status: TransitionStep['status'];
  transition: Transition | null;
  /** The cursor before this poll (null on the first poll). */
  previousCursorMs: number | null;
}

/** Lua: the schedule keys of a provider (`dueKeys`). */
const DUE_KEYS = new URL('./scripts/due-keys.lua', import.meta.url);
/** Writes one poll's verdict, indexes, history and outbox entry atomically (scripts/apply-poll.lua). */
const APPLY_POLL = loadLuaScript(new URL('./scripts/apply-poll.lua', import.meta.url), {
  constants: { OUTBOX_STREAM, UNINDEXED_CATEGORY, INDEX_BUCKETS },
  args: APPLY_POLL_ARGS,
  include: [DUE_KEYS, INDEX_BUCKETS_LUA],
});

/** All Redis keys of credential state live here: state hash, category indexes, history, outbox. */
export class CredentialStore {
  /** Sweep bookkeeping: when sweeps started and finished (`{prefix}:sweep`). */
  readonly sweeps: SweepRecord;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly options: { historyLimit: number; providers: readonly ProviderId[]; intervals?: ScheduleIntervals },
  ) {
    this.sweeps = new SweepRecord(redis, prefix);
  }

  private credKey(provider: string, userId: string): string {
    return credentialKey(this.prefix, provider, userId);
  }

  private catKey(provider: string, category: IndexedCategory): string {
    return categoryIndexKey(this.prefix, provider, category);
  }

  /** Writes one poll's verdict; records and outboxes a transition when the category changed. One round trip. */
  async applyPoll(o: PollObservation, now: Date): Promise<ApplyResult> {
    const argv = applyPollArgv(o, now, {
      prefix: this.prefix,
      historyLimit: this.options.historyLimit,
      intervals: this.options.intervals ?? DEFAULT_INTERVALS,
    });
    const reply = (await APPLY_POLL.run(this.redis, [this.credKey(o.provider, o.leafUserId)], argv)) as [string, string, string];
    const [status, json, prevCursor] = reply;
    return {
      status: status as ApplyResult['status'],
      transition: status === 'transition' ? (JSON.parse(json) as Transition) : null,
      previousCursorMs: prevCursor === '' ? null : Number(prevCursor),
    };
  }

  /** The cached credential object and the event cursor, read before a poll asks Leaf (one round trip). */
  async pollContext(provider: ProviderId, leafUserId: string): Promise<PollContext> {
    const [c, e, cs, cf, cat, cur, cid] = await this.redis.hmget(
      this.credKey(provider, leafUserId),
      F.credentialId,
      F.clientEnvironment,
      F.credentialStatus,
      F.credentialFetchedAtMs,
      F.category,
      F.cursorMs,
      F.lastEventId,
    );
    const fetchedAtMs = cf ? Number(cf) : Number.NaN;
    const cached = Number.isFinite(fetchedAtMs)
      ? {
          credential: c ? { id: c, status: cs || null, clientEnvironment: (e || null) as ClientEnvironment | null } : null,
          fetchedAtMs,
        }
      : undefined;
    return { cached, category: (cat ?? null) as Category | null, cursorMs: cur ? Number(cur) : null, lastEventId: cid || null };
  }

  /** Makes the next poll fetch the credential object again (after a Leaf alert or a manual poll). */
  async forgetCachedCredential(provider: ProviderId, leafUserId: string): Promise<void> {
    await this.redis.hdel(this.credKey(provider, leafUserId), F.credentialFetchedAtMs);
  }

  /** Counts a failed poll (Leaf error) without touching the category. */
  async recordPollFailure(provider: ProviderId, leafUserId: string): Promise<number> {
    const key = this.credKey(provider, leafUserId);
    // Only existing credentials carry a failure count; a never-polled user has no state to keep.
    return (await this.redis.exists(key)) === 1 ? this.redis.hincrby(key, F.consecutiveFailures, 1) : 0;
  }

  /** One credential's state, or null. */
  async get(provider: ProviderId, leafUserId: string): Promise<CredentialState | null> {
    const hash = await this.redis.hgetall(this.credKey(provider, leafUserId));
    return toState(provider, leafUserId, hash);
  }

  /** The newest-first transition history of one credential. */
  async history(provider: ProviderId, leafUserId: string): Promise<Transition[]> {
    const rows = await this.redis.lrange(`${this.prefix}:hist:${provider}:${leafUserId}`, 0, -1);
    return rows.map((r) => JSON.parse(r) as Transition);
  }

  /**
   * Credentials per provider and category, in one round trip: one ZCARD per category index, and for
   * `healthy` (no index) the schedule's healthy class less the other categories scheduled with it.
   */
  async counts(): Promise<Array<{ provider: ProviderId; category: Category; count: number }>> {
    const pipeline = this.redis.pipeline();
    for (const provider of this.options.providers) {
      pipeline.zcard(scheduleKey(this.prefix, provider, scheduleClassOf(UNINDEXED_CATEGORY)));
      for (const category of INDEXED_CATEGORIES) pipeline.zcard(this.catKey(provider, category));
    }
    const results = (await pipeline.exec()) ?? [];
    const rows: Array<{ provider: ProviderId; category: Category; count: number }> = [];
    this.options.providers.forEach((provider, p) => {
      const base = p * (INDEXED_CATEGORIES.length + 1);
      const sameClass = Number(results[base]?.[1] ?? 0);
      const indexed = new Map(INDEXED_CATEGORIES.map((category, i) => [category, Number(results[base + 1 + i]?.[1] ?? 0)]));
      // Every credential with a state is in exactly one schedule class (apply-poll.lua, mark-removed.lua).
      let healthy = sameClass;
      for (const [category, count] of indexed) if (scheduleClassOf(category) === scheduleClassOf(UNINDEXED_CATEGORY)) healthy -= count;
      for (const category of CATEGORIES)
        rows.push({ provider, category, count: category === UNINDEXED_CATEGORY ? Math.max(0, healthy) : (indexed.get(category) ?? 0) });
    });
    return rows;
  }

  /** Age in seconds of the least recently polled credential, per provider (the poll-age histogram, to the second). */
  async oldestPollAges(nowMs: number): Promise<Array<{ provider: ProviderId; ageSeconds: number }>> {
    const oldest = await oldestPollSeconds(this.redis, this.prefix, this.options.providers);
    const out: Array<{ provider: ProviderId; ageSeconds: number }> = [];
    this.options.providers.forEach((provider, i) => {
      const second = oldest[i];
      if (second !== null && second !== undefined) out.push({ provider, ageSeconds: Math.max(0, (nowMs - second * 1000) / 1000) });
    });
    return out;
  }

  /**
   * A page of credentials, ordered by category, then by how long they have been in it (oldest first);
   * `healthy` ones (no category index) by when they are next due. The cursor is opaque to callers
   * (`category|userId` of the last item, `healthy|dueMs|userId` for a healthy one). A credential that
   * changes category or is polled while someone pages may be skipped or shown twice; counts stay exact.
   */
  async list(q: { provider: ProviderId; category?: Category | undefined; limit: number; cursor?: string | undefined }): Promise<{
    items: CredentialState[];
    nextCursor: string | null;
  }> {
    const categories = q.category ? [q.category] : [...CATEGORIES];
    let [cursorCat, cursorRest] = q.cursor ? splitOnce(q.cursor, '|') : [undefined, undefined];
    const ids: Array<{ category: Category; user: string; cursor: string }> = [];
    for (const category of categories) {
      if (cursorCat !== undefined && CATEGORIES.indexOf(category) < CATEGORIES.indexOf(cursorCat as Category)) continue;
      const resume = cursorCat === category ? cursorRest : undefined;
      const need = q.limit + 1 - ids.length;
      if (category === UNINDEXED_CATEGORY) ids.push(...(await this.healthyPage(q.provider, need, resume)));
      else ids.push(...(await this.indexedPage(q.provider, category, need, resume)));
      cursorCat = undefined;
      cursorRest = undefined;
      if (ids.length > q.limit) break;
    }
    const page = ids.slice(0, q.limit);
    const pipeline = this.redis.pipeline();
    for (const { user } of page) pipeline.hgetall(this.credKey(q.provider, user));
    const hashes = (await pipeline.exec()) ?? [];
    const items = page
      .map(({ user }, i) => toState(q.provider, user, (hashes[i]?.[1] ?? {}) as Record<string, string>))
      .filter((s): s is CredentialState => s !== null);
    const last = page[page.length - 1];
    return { items, nextCursor: ids.length > q.limit && last ? last.cursor : null };
  }

  /** Up to `need` members of a category index, after the cursor's user. */
  private async indexedPage(
    provider: ProviderId,
    category: IndexedCategory,
    need: number,
    cursorUser: string | undefined,
  ): Promise<Array<{ category: Category; user: string; cursor: string }>> {
    const key = this.catKey(provider, category);
    let start = 0;
    if (cursorUser !== undefined) {
      const rank = await this.redis.zrank(key, cursorUser);
      // The cursor's credential left this category meanwhile: resume at its old score.
      start = rank === null ? await this.redis.zcount(key, '-inf', `(${await this.lastScore(provider, cursorUser)}`) : rank + 1;
    }
    const members = await this.redis.zrange(key, String(start), String(start + need - 1));
    return members.map((user) => ({ category, user, cursor: `${category}|${user}` }));
  }

  /**
   * Up to `need` healthy credentials: the schedule's healthy class in due order, without the other
   * categories scheduled with them. `cursor` is `dueMs|userId` (a bare user id, from an older cursor,
   * resumes at that user's current due time).
   */
  private async healthyPage(
    provider: ProviderId,
    need: number,
    cursor: string | undefined,
  ): Promise<Array<{ category: Category; user: string; cursor: string }>> {
    const key = scheduleKey(this.prefix, provider, scheduleClassOf(UNINDEXED_CATEGORY));
    let start = 0;
    if (cursor !== undefined) {
      const [scoreText, user] = /^\d+\|/.test(cursor) ? splitOnce(cursor, '|') : [await this.redis.zscore(key, cursor), cursor];
      const score = scoreText === null ? '-inf' : scoreText;
      // After every member due sooner, and those due at the same time that sort before the cursor's user (or are it).
      const tied = score === '-inf' ? [] : await this.redis.zrangebyscore(key, score, score);
      start = (score === '-inf' ? 0 : await this.redis.zcount(key, '-inf', `(${score}`)) + tied.filter((m) => m <= (user ?? '')).length;
    }
    const out: Array<{ category: Category; user: string; cursor: string }> = [];
    const chunk = Math.max(need, 100);
    while (out.length < need) {
      const rows = await this.redis.zrange(key, String(start), String(start + chunk - 1), 'WITHSCORES');
      if (rows.length === 0) break;
      const pipeline = this.redis.pipeline();
      for (let i = 0; i < rows.length; i += 2) pipeline.hget(this.credKey(provider, rows[i] ?? ''), F.category);
      const cats = (await pipeline.exec()) ?? [];
      for (let i = 0; i < rows.length && out.length < need; i += 2) {
        const user = rows[i] ?? '';
        if (cats[i / 2]?.[1] === UNINDEXED_CATEGORY)
          out.push({ category: UNINDEXED_CATEGORY, user, cursor: `${UNINDEXED_CATEGORY}|${rows[i + 1] ?? ''}|${user}` });
      }
      start += rows.length / 2;
    }
    return out;
  }

  private async lastScore(provider: ProviderId, userId: string): Promise<number> {
    const since = await this.redis.hget(this.credKey(provider, userId), F.since);
    const ms = since === null ? Number.NaN : Date.parse(since);
    return Number.isFinite(ms) ? ms : 0;
  }

  /** How many credentials have been in `category` since before `beforeMs` (one ZCOUNT per provider). */
  async countInCategorySince(category: IndexedCategory, beforeMs: number): Promise<Array<{ provider: ProviderId; count: number }>> {
    const pipeline = this.redis.pipeline();
    for (const provider of this.options.providers) pipeline.zcount(this.catKey(provider, category), '-inf', `(${beforeMs}`);
    const results = (await pipeline.exec()) ?? [];
    return this.options.providers.map((provider, i) => ({ provider, count: Number(results[i]?.[1] ?? 0) }));
  }

  /** The credentials of the Leaf users whose externalId is `externalId` (the app's own grower id). */
  async findByExternalId(provider: ProviderId, externalId: string): Promise<CredentialState[]> {
    const users = await userIdsByExternalId(this.redis, this.prefix, externalId);
    const states = await Promise.all(users.map((u) => this.get(provider, u)));
    return states.filter((s): s is CredentialState => s !== null && s.removedAt === null);
  }

  /** Which provider and Leaf user a credential id belongs to (Leaf alerts carry only the credential id). */
  async findByCredentialId(credentialId: string): Promise<{ provider: ProviderId; leafUserId: string } | null> {
    // The bucket, or the unbucketed hash of an earlier version until the scheduler's start has moved it.
    const value =
      (await this.redis.hget(credentialIdIndexKey(this.prefix, credentialId), credentialId)) ??
      (await this.redis.hget(legacyIndexKeys(this.prefix).credentialId, credentialId));
    if (value === null) return null;
    const [provider, leafUserId] = splitOnce(value, ':');
    return leafUserId === undefined ? null : { provider: provider as ProviderId, leafUserId };
  }

  /**
   * Records that these Leaf users were listed by a sweep at `atMs`: a field of each credential's hash
   * (one pipelined round trip per page; a field costs far less memory than an index entry).
   */
  async markSeen(userIds: readonly string[], atMs: number, listed?: readonly ListedUser[]): Promise<void> {
    // With the listed users, their identity (externalId, name, email) is written in the same round trip.
    if (listed !== undefined)
      return recordSeenUsers(this.redis, this.prefix, (p, u) => this.credKey(p, u), this.options.providers, listed, atMs);
    if (userIds.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const id of userIds)
      for (const provider of this.options.providers) pipeline.hset(this.credKey(provider, id), F.seenAtMs, String(atMs));
    await pipeline.exec();
  }

  /**
   * Marks removed the credentials of users that no sweep listed since `sinceMs` (the start of the
   * previous sweep) and that were not polled since either (remove-unseen.ts). Returns how many.
   */
  async removeUnseen(sinceMs: number, nowMs: number): Promise<number> {
    return removeUnseenCredentials(this.redis, this.prefix, this.options.providers, sinceMs, nowMs);
  }
}

function splitOnce(value: string, sep: string): [string, string | undefined] {
  const i = value.indexOf(sep);
  return i < 0 ? [value, undefined] : [value.slice(0, i), value.slice(i + 1)];
}

function toState(provider: ProviderId, leafUserId: string, h: Record<string, string>): CredentialState | null {
  if (h[F.category] === undefined) return null;
  // An absent evidence event id means the evidence's event is the last event seen.
  const eventId = h[F.evidenceEventId] === undefined ? h[F.lastEventId] : h[F.evidenceEventId];
  const evidence: Evidence = {
    eventId: eventId || null,
    statusCode: h[F.evidenceStatus] ? Number(h[F.evidenceStatus]) : null,
    excerpt: joinChunks(h, F.evidenceExcerpt) ?? '',
  };
  const lp = Number(h[F.lastPolledMs] ?? 0);
  return {
    provider,
    leafUserId,
    credentialId: h[F.credentialId] || null,
    clientEnvironment: (h[F.clientEnvironment] || null) as ClientEnvironment | null,
    category: h[F.category] as Category,
    action: (h[F.action] ?? 'investigate') as Action,
    since: h[F.since] ?? '',
    lastPolledAt: new Date(lp).toISOString(),
    cursorMs: h[F.cursorMs] ? Number(h[F.cursorMs]) : null,
    lastEventId: h[F.lastEventId] || null,
    ruleId: h[F.ruleId] ?? '',
    reason: joinChunks(h, F.reason) ?? '',
    evidence,
    consecutiveFailures: Number(h[F.consecutiveFailures] ?? 0),
    removedAt: h[F.removedAtMs] ? new Date(Number(h[F.removedAtMs])).toISOString() : null,
    grower: growerFromHash(h),
  };
}
