import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Category } from '../src/classify/categories.js';
import type { PollObservation } from '../src/monitor/apply-poll-args.js';
import { CredentialStore } from '../src/monitor/credential-store.js';
import { transitionStep, type ObservedCategory, type StoredCategory, type TransitionStep } from '../src/monitor/transition-rule.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';

const S = '2026-10-01T00:00:00.000Z'; // the stored since
const O = '2026-11-01T00:00:00.000Z'; // the observed since
const EXP: Category = 'cognito_token_expired';
const PERM: Category = 'missing_permission';

function stored(category: Category, since: string | null, lastPolledMs: number, removed = false): StoredCategory {
  return { category, since, lastPolledMs, removed };
}

function seen(category: Category, observedAtMs: number): ObservedCategory {
  return { category, since: O, observedAtMs };
}

/** stored, observed, then what the rule does: status, the since kept ('S', 'O' or null), from, (re)indexed. */
const ROWS: Array<[string, StoredCategory | null, ObservedCategory, TransitionStep['status'], 'S' | 'O' | null, Category | null, boolean]> =
  [
    ['a first sighting in healthy is no transition (and healthy has no index)', null, seen('healthy', 1_000), 'same', 'O', null, false],
    ['a first sighting failing is a transition from nothing', null, seen(EXP, 1_000), 'transition', 'O', null, true],
    ['a first sighting not connected is a transition too', null, seen('not_connected', 1_000), 'transition', 'O', null, true],
    ['healthy again keeps its since', stored('healthy', S, 1_000), seen('healthy', 2_000), 'same', 'S', null, false],
    ['healthy to expired takes the new since', stored('healthy', S, 1_000), seen(EXP, 2_000), 'transition', 'O', 'healthy', true],
    ['expired to healthy is a recovery', stored(EXP, S, 1_000), seen('healthy', 2_000), 'transition', 'O', EXP, false],
    ['one failure to another is a transition', stored(EXP, S, 1_000), seen(PERM, 2_000), 'transition', 'O', EXP, true],
    ['an observation older than the last applied is stale', stored(EXP, S, 5_000), seen('healthy', 4_999), 'stale', null, null, false],
    ['an observation as old as the last applied is not stale', stored(EXP, S, 5_000), seen(EXP, 5_000), 'same', 'S', null, false],
    ['a removed credential seen again is indexed again', stored(EXP, S, 1_000, true), seen(EXP, 2_000), 'same', 'S', null, true],
    [
      'a removed credential seen healthy again is in no index',
      stored('healthy', S, 1_000, true),
      seen('healthy', 2_000),
      'same',
      'S',
      null,
      false,
    ],
    [
      'a removed credential seen failing is a transition',
      stored('healthy', S, 1_000, true),
      seen(EXP, 2_000),
      'transition',
      'O',
      'healthy',
      true,
    ],
    ['a kept category without a stored since takes the observed one', stored(EXP, null, 1_000), seen(EXP, 2_000), 'same', 'O', null, false],
    ['an unpolled credential takes any observation', stored('healthy', S, 0), seen(EXP, 0), 'transition', 'O', 'healthy', true],
  ];

describe('the transition rule: transitionStep (pure) and apply-poll.lua agree, row by row (real Redis)', () => {
  let prefix: string;
  let redis: Redis;
  let cleanup: () => Promise<void>;
  let store: CredentialStore;

  beforeAll(async () => {
    prefix = uniquePrefix('transition-rule');
    ({ redis, cleanup } = await testRedis(prefix));
    store = new CredentialStore(redis, prefix, { historyLimit: 10, providers: ['panorama'] });
  });
  afterAll(async () => cleanup());

  /** Writes the stored state as apply-poll.lua keeps it: the hash, and the category index unless removed (score 0). */
  async function seed(user: string, s: StoredCategory | null): Promise<void> {
    if (s === null || s.category === null) return;
    const key = `${prefix}:cred:panorama:${user}`;
    await redis.hset(key, 'cat', s.category, 'lp', String(s.lastPolledMs), 'act', 'none');
    if (s.since !== null) await redis.hset(key, 'since', s.since);
    if (s.removed) await redis.hset(key, 'rm', '1');
    else await redis.zadd(`${prefix}:cat:panorama:${s.category}`, 0, user);
  }

  function observation(user: string, o: ObservedCategory): PollObservation {
    return {
      provider: 'panorama',
      leafUserId: user,
      observedAtMs: o.observedAtMs,
      credentialId: null,
      clientEnvironment: 'PRODUCTION',
      category: o.category,
      action: o.category === 'healthy' ? 'none' : 'reauthenticate',
      since: o.since,
      ruleId: 'r',
      reason: 'table',
      evidence: { eventId: null, statusCode: null, excerpt: '' },
      cursorMs: null,
      lastEventId: null,
    };
  }

  /** What the script did, read back from Redis in the mirror's terms. */
  async function applyThroughScript(user: string, s: StoredCategory | null, o: ObservedCategory): Promise<TransitionStep> {
    await seed(user, s);
    const outboxBefore = await redis.xlen(`${prefix}:outbox`);
    const result = await store.applyPoll(observation(user, o), new Date(10_000));
    const recorded = (await redis.llen(`${prefix}:hist:panorama:${user}`)) === 1;
    const outboxed = (await redis.xlen(`${prefix}:outbox`)) === outboxBefore + 1;
    const score = await redis.zscore(`${prefix}:cat:panorama:${o.category}`, user);
    const since = await redis.hget(`${prefix}:cred:panorama:${user}`, 'since');
    return {
      status: result.status,
      since: result.status === 'stale' ? null : since,
      from: result.transition?.from ?? null,
      recordsTransition: recorded && outboxed,
      indexesCategory: score === String(Date.parse(o.since)),
    };
  }

  it.each(ROWS)('%s', async (name, s, o, status, since, from, indexes) => {
    const expected: TransitionStep = {
      status,
      since: since === 'S' ? S : since === 'O' ? O : null,
      from,
      recordsTransition: status === 'transition',
      indexesCategory: indexes,
    };
    expect(transitionStep(s, o)).toEqual(expected);
    const user = `u-${ROWS.findIndex((row) => row[0] === name)}`;
    expect(await applyThroughScript(user, s, o)).toEqual(expected);
  });

  it('leaves a stale observation unwritten: the stored state is what it was', async () => {
    await seed('stale', stored(EXP, S, 5_000));
    const before = await redis.hgetall(`${prefix}:cred:panorama:stale`);
    expect((await store.applyPoll(observation('stale', seen('healthy', 1)), new Date(10_000))).status).toBe('stale');
    expect(await redis.hgetall(`${prefix}:cred:panorama:stale`)).toEqual(before);
  });
});
