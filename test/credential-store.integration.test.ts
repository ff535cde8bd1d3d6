import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { PollObservation } from '../src/monitor/apply-poll-args.js';
import { pollAgesKey } from '../src/monitor/poll-ages.js';
import { CredentialStore } from '../src/monitor/credential-store.js';
import type { Transition } from '../src/monitor/transition.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';

function observation(overrides: Partial<PollObservation> = {}): PollObservation {
  return {
    provider: 'panorama',
    leafUserId: 'user-1',
    observedAtMs: 1_000,
    credentialId: 'cred-1',
    clientEnvironment: 'PRODUCTION',
    category: 'healthy',
    action: 'none',
    since: '2026-11-01T00:00:00.000Z',
    ruleId: 'status.2xx',
    reason: 'ok',
    evidence: { eventId: 'e1', statusCode: 200, excerpt: '' },
    cursorMs: 500,
    lastEventId: 'e1',
    ...overrides,
  };
}

async function outbox(redis: Redis, prefix: string): Promise<Transition[]> {
  const rows = await redis.xrange(`${prefix}:outbox`, '-', '+');
  return rows.map(([, fields]) => JSON.parse(fields[1] ?? '{}') as Transition);
}

describe('CredentialStore (real Redis)', () => {
  let prefix: string;
  let redis: Redis;
  let cleanup: () => Promise<void>;
  let store: CredentialStore;

  beforeEach(async () => {
    prefix = uniquePrefix('store');
    ({ redis, cleanup } = await testRedis(prefix));
    store = new CredentialStore(redis, prefix, { historyLimit: 3, providers: ['panorama'] });
  });
  afterEach(async () => cleanup());

  it('records no transition for a first healthy observation, and one per category change after', async () => {
    const now = new Date('2026-11-02T00:00:00Z');
    expect((await store.applyPoll(observation(), now)).status).toBe('same');
    const broke = await store.applyPoll(
      observation({
        observedAtMs: 2_000,
        category: 'cognito_token_expired',
        action: 'reauthenticate',
        since: '2026-11-02T00:00:00.000Z',
        cursorMs: 900,
      }),
      now,
    );
    expect(broke.status).toBe('transition');
    expect(broke.transition).toMatchObject({ from: 'healthy', to: 'cognito_token_expired', leafUserId: 'user-1', credentialId: 'cred-1' });
    expect(broke.previousCursorMs).toBe(500);
    // The same verdict again is not a transition, and keeps the original `since`.
    const again = await store.applyPoll(
      observation({ observedAtMs: 3_000, category: 'cognito_token_expired', action: 'reauthenticate', since: '2026-11-03T00:00:00.000Z' }),
      now,
    );
    expect(again.status).toBe('same');
    expect((await store.get('panorama', 'user-1'))?.since).toBe('2026-11-02T00:00:00.000Z');
    await store.applyPoll(observation({ observedAtMs: 4_000 }), now);
    const transitions = await outbox(redis, prefix);
    expect(transitions.map((t) => `${t.from}->${t.to}`)).toEqual(['healthy->cognito_token_expired', 'cognito_token_expired->healthy']);
    expect(new Set(transitions.map((t) => t.id)).size).toBe(2);
    const history = await store.history('panorama', 'user-1');
    expect(history.map((t) => t.to)).toEqual(['healthy', 'cognito_token_expired']);
  });

  it('records the first observation of a failing credential as a transition from null', async () => {
    const r = await store.applyPoll(observation({ category: 'environment_mismatch', action: 'fix_environment' }), new Date());
    expect(r.transition?.from).toBeNull();
    expect(r.transition?.to).toBe('environment_mismatch');
  });

  it('ignores an observation older than the stored one (two workers racing)', async () => {
    await store.applyPoll(observation({ observedAtMs: 5_000, category: 'missing_permission', action: 'grant_permission' }), new Date());
    const stale = await store.applyPoll(observation({ observedAtMs: 4_000, category: 'healthy' }), new Date());
    expect(stale.status).toBe('stale');
    expect((await store.get('panorama', 'user-1'))?.category).toBe('missing_permission');
    expect(await outbox(redis, prefix)).toHaveLength(1);
  });

  it('writes exactly one transition when many writers apply the same change concurrently', async () => {
    await store.applyPoll(observation(), new Date());
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.applyPoll(
          observation({ observedAtMs: 2_000 + i, category: 'wrong_organization_code', action: 'fix_organization_code' }),
          new Date(),
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'transition')).toHaveLength(1);
    expect(await outbox(redis, prefix)).toHaveLength(1);
  });

  it('keeps O(1) counts per category, caps history, and pages listings with a stable cursor', async () => {
    const cats = ['healthy', 'cognito_token_expired', 'healthy', 'not_connected', 'healthy'] as const;
    for (const [i, category] of cats.entries()) {
      await store.applyPoll(observation({ leafUserId: `u${i}`, credentialId: `c${i}`, category, observedAtMs: 1000 + i }), new Date());
    }
    const counts = Object.fromEntries((await store.counts()).map((r) => [r.category, r.count]));
    expect(counts).toMatchObject({ healthy: 3, cognito_token_expired: 1, not_connected: 1, missing_permission: 0 });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ provider: 'panorama', limit: 2, cursor });
      seen.push(...page.items.map((i) => `${i.category}:${i.leafUserId}`));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(['healthy:u0', 'healthy:u2', 'healthy:u4', 'cognito_token_expired:u1', 'not_connected:u3']);
    const healthyOnly = await store.list({ provider: 'panorama', category: 'healthy', limit: 10 });
    expect(healthyOnly.items).toHaveLength(3);
    expect(healthyOnly.nextCursor).toBeNull();

    for (let i = 0; i < 6; i += 1) {
      await store.applyPoll(
        observation({ leafUserId: 'flappy', observedAtMs: 10_000 + i, category: i % 2 === 0 ? 'provider_unavailable' : 'healthy' }),
        new Date(),
      );
    }
    expect(await store.history('panorama', 'flappy')).toHaveLength(3);
  });

  it('indexes credential ids, tracks the oldest poll, and marks unlisted users removed', async () => {
    await store.applyPoll(observation({ leafUserId: 'a', credentialId: 'ca', observedAtMs: 1_000 }), new Date());
    await store.applyPoll(observation({ leafUserId: 'b', credentialId: 'cb', observedAtMs: 9_000 }), new Date());
    expect(await store.findByCredentialId('cb')).toEqual({ provider: 'panorama', leafUserId: 'b' });
    expect(await store.findByCredentialId('nope')).toBeNull();
    expect(await store.oldestPollAges(11_000)).toEqual([{ provider: 'panorama', ageSeconds: 10 }]);

    // 'a' was last listed at 100, 'b' at 2000; neither was polled since 1000 ('a' at 1000 is not "since").
    await store.markSeen(['a', 'b'], 100);
    await store.markSeen(['b'], 2_000);
    expect(await store.removeUnseen(1_500, 11_000)).toBe(1);
    const a = await store.get('panorama', 'a');
    expect(a?.removedAt).not.toBeNull();
    expect(await store.findByCredentialId('ca')).toBeNull();
    expect((await store.counts()).find((r) => r.category === 'healthy')?.count).toBe(1);
    expect(await store.oldestPollAges(11_000)).toEqual([{ provider: 'panorama', ageSeconds: 2 }]);
    // Polled again: back in the indexes, no longer removed.
    await store.applyPoll(observation({ leafUserId: 'a', credentialId: 'ca', observedAtMs: 12_000 }), new Date());
    expect((await store.get('panorama', 'a'))?.removedAt).toBeNull();
  });

  it('keeps the poll-age histogram exact through polls, stale polls, removal and return', async () => {
    const histogram = async () => redis.hgetall(pollAgesKey(prefix, 'panorama'));
    await store.applyPoll(observation({ leafUserId: 'a', observedAtMs: 1_000 }), new Date());
    await store.applyPoll(observation({ leafUserId: 'b', observedAtMs: 1_500 }), new Date());
    await store.applyPoll(observation({ leafUserId: 'b', observedAtMs: 5_000 }), new Date());
    await store.applyPoll(observation({ leafUserId: 'b', observedAtMs: 4_000 }), new Date()); // stale: not counted
    expect(await histogram()).toEqual({ '1': '1', '5': '1' });
    await store.markSeen(['b'], 6_000);
    expect(await store.removeUnseen(2_000, 7_000)).toBe(1);
    expect(await store.removeUnseen(2_000, 7_000)).toBe(0);
    expect(await histogram()).toEqual({ '5': '1' });
    await store.applyPoll(observation({ leafUserId: 'a', observedAtMs: 8_000 }), new Date());
    expect(await histogram()).toEqual({ '5': '1', '8': '1' });
    expect(await store.oldestPollAges(10_000)).toEqual([{ provider: 'panorama', ageSeconds: 5 }]);
    // Nothing polled before 5 s: no credential is a removal candidate, the schedule is not read.
    expect(await store.removeUnseen(5_000, 11_000)).toBe(0);
  });

  it('lists healthy credentials in due order across pages, without the not connected ones scheduled with them', async () => {
    for (const [i, category] of (['healthy', 'not_connected', 'healthy', 'healthy', 'not_connected', 'healthy'] as const).entries())
      await store.applyPoll(observation({ leafUserId: `h${i}`, category, observedAtMs: 1_000 + i }), new Date());
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ provider: 'panorama', category: 'healthy', limit: 1, cursor });
      seen.push(...page.items.map((i) => i.leafUserId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(['h0', 'h2', 'h3', 'h5']);
    // A cursor of an earlier version (`healthy|userId`) resumes after that user.
    expect(
      (await store.list({ provider: 'panorama', category: 'healthy', limit: 5, cursor: 'healthy|h2' })).items.map((i) => i.leafUserId),
    ).toEqual(['h3', 'h5']);
  });

  it('counts credentials in a category since before a time, and lists oldest first', async () => {
    const day = (d: number) => `2026-11-0${d}T00:00:00.000Z`;
    await store.applyPoll(observation({ leafUserId: 'late', category: 'provider_unavailable', action: 'wait', since: day(5) }), new Date());
    await store.applyPoll(
      observation({ leafUserId: 'early', category: 'provider_unavailable', action: 'wait', since: day(2) }),
      new Date(),
    );
    await store.applyPoll(observation({ leafUserId: 'mid', category: 'provider_unavailable', action: 'wait', since: day(3) }), new Date());
    expect(await store.countInCategorySince('provider_unavailable', Date.parse(day(4)))).toEqual([{ provider: 'panorama', count: 2 }]);
    expect(await store.countInCategorySince('provider_unavailable', Date.parse(day(1)))).toEqual([{ provider: 'panorama', count: 0 }]);
    const page1 = await store.list({ provider: 'panorama', category: 'provider_unavailable', limit: 2 });
    expect(page1.items.map((i) => i.leafUserId)).toEqual(['early', 'mid']);
    const page2 = await store.list({
      provider: 'panorama',
      category: 'provider_unavailable',
      limit: 2,
      cursor: page1.nextCursor ?? undefined,
    });
    expect(page2.items.map((i) => i.leafUserId)).toEqual(['late']);
    expect(page2.nextCursor).toBeNull();
  });

  it('counts consecutive poll failures only for known credentials and resets them on success', async () => {
    expect(await store.recordPollFailure('panorama', 'ghost')).toBe(0);
    expect(await redis.exists(`${prefix}:cred:panorama:ghost`)).toBe(0);
    await store.applyPoll(observation(), new Date());
    await store.recordPollFailure('panorama', 'user-1');
    expect(await store.recordPollFailure('panorama', 'user-1')).toBe(2);
    await store.applyPoll(observation({ observedAtMs: 2_000 }), new Date());
    expect((await store.get('panorama', 'user-1'))?.consecutiveFailures).toBe(0);
  });

  it('keeps long values in 64-byte chunks, so the hash stays a listpack, and reads them back whole', async () => {
    const excerpt = `NotAuthorizedException: ${'Jeton expiré — réessayez '.repeat(6)}`;
    const reason = `Leaf reports the credential as UNAUTHENTICATED and no event says more ${'é'.repeat(40)}`;
    await store.applyPoll(
      observation({
        category: 'cognito_token_expired',
        action: 'reauthenticate',
        reason,
        evidence: { eventId: 'e9', statusCode: 401, excerpt },
      }),
      new Date(2_000),
    );
    const key = `${prefix}:cred:panorama:user-1`;
    expect(await redis.object('ENCODING', key)).toBe('listpack');
    expect(await redis.hexists(key, 'ex3')).toBe(1);
    const state = await store.get('panorama', 'user-1');
    expect(state?.reason).toBe(reason);
    expect(state?.evidence).toEqual({ eventId: 'e9', statusCode: 401, excerpt });
    // A shorter value drops the chunks of the longer one.
    await store.applyPoll(
      observation({
        observedAtMs: 2_000,
        category: 'cognito_token_expired',
        action: 'reauthenticate',
        reason: 'short',
        evidence: { eventId: 'e1', statusCode: 401, excerpt: 'x' },
      }),
      new Date(3_000),
    );
    expect(Object.keys(await redis.hgetall(key)).filter((f) => /^(ex|reason)\d/.test(f))).toEqual([]);
    expect((await store.get('panorama', 'user-1'))?.evidence).toEqual({ eventId: 'e1', statusCode: 401, excerpt: 'x' });
    expect(await redis.hexists(key, 'ei')).toBe(0);
  });
});
