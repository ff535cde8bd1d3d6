import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PollObservation } from '../src/monitor/apply-poll-args.js';
import { CredentialStore } from '../src/monitor/credential-store.js';
import { PollReleaser } from '../src/monitor/poll-releaser.js';
import { PollSchedule, scheduleKey } from '../src/monitor/poll-schedule.js';
import { testLogger } from './helpers/daemon.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';

const MIN = 60_000;
const T0 = Date.parse('2026-12-01T12:00:00Z');

function observation(leafUserId: string, overrides: Partial<PollObservation> = {}): PollObservation {
  return {
    provider: 'panorama',
    leafUserId,
    observedAtMs: T0,
    credentialId: `cred-${leafUserId}`,
    clientEnvironment: 'PRODUCTION',
    category: 'healthy',
    action: 'none',
    since: new Date(T0).toISOString(),
    ruleId: 'status.2xx',
    reason: 'ok',
    evidence: { eventId: 'e1', statusCode: 200, excerpt: '' },
    cursorMs: T0 - 1000,
    lastEventId: 'e1',
    leafRequests: 1,
    ...overrides,
  };
}

describe('poll schedule (real Redis)', () => {
  let prefix: string;
  let redis: Redis;
  let cleanup: () => Promise<void>;
  let schedule: PollSchedule;
  let store: CredentialStore;

  beforeEach(async () => {
    prefix = uniquePrefix('schedule');
    ({ redis, cleanup } = await testRedis(prefix));
    schedule = new PollSchedule(redis, prefix, ['panorama'], 10 * MIN);
    store = new CredentialStore(redis, prefix, {
      historyLimit: 3,
      providers: ['panorama'],
      intervals: { pollIntervalMs: 15 * MIN, failingRecheckMs: 5 * MIN },
    });
  });
  afterEach(async () => cleanup());

  it('releases never-polled credentials first, then failing ones, then healthy ones oldest first, and only when due', async () => {
    // Healthy h1 polled at T0, h2 at T0 + 1 min: both due 15 min later. Failing f1 broke at T0: due after 5 min.
    await store.applyPoll(observation('h1'), new Date(T0));
    await store.applyPoll(observation('h2', { observedAtMs: T0 + MIN }), new Date(T0 + MIN));
    await store.applyPoll(
      observation('f1', { category: 'cognito_token_expired', action: 'reauthenticate', since: new Date(T0).toISOString() }),
      new Date(T0),
    );
    expect(await schedule.dueOf('panorama', 'h1')).toEqual({ cls: 'healthy', dueMs: T0 + 15 * MIN });
    expect(await schedule.dueOf('panorama', 'f1')).toEqual({ cls: 'failing', dueMs: T0 + 5 * MIN });
    // Two users listed later: new, due at their listing. (Leases of an hour: no claim below expires.)
    schedule = new PollSchedule(redis, prefix, ['panorama'], 60 * MIN);
    expect(await schedule.addListed(['n1', 'n2', 'h1'], T0 + 2 * MIN)).toBe(2);

    expect(await schedule.claim(10, T0 + 3 * MIN)).toEqual([
      { provider: 'panorama', cls: 'new', leafUserId: 'n1' },
      { provider: 'panorama', cls: 'new', leafUserId: 'n2' },
    ]);
    expect((await schedule.claim(10, T0 + 6 * MIN)).map((c) => c.leafUserId)).toEqual(['f1']);
    // With room for one, the oldest healthy goes first; the limit holds across classes.
    expect((await schedule.claim(1, T0 + 20 * MIN)).map((c) => c.leafUserId)).toEqual(['h1']);
    expect((await schedule.claim(5, T0 + 20 * MIN)).map((c) => c.leafUserId)).toEqual(['h2']);
    expect(await schedule.claim(5, T0 + 20 * MIN)).toEqual([]);
  });

  it('keeps a claimed poll leased: due again only when the lease ends without a completed poll', async () => {
    await schedule.addListed(['u1'], T0);
    expect(await schedule.claim(5, T0)).toHaveLength(1);
    expect(await schedule.claim(5, T0 + 9 * MIN)).toEqual([]);
    // Its worker died and the job is gone: the lease ends, the poll is claimed again.
    expect((await schedule.claim(5, T0 + 10 * MIN)).map((c) => c.leafUserId)).toEqual(['u1']);
    // A completed poll ends the lease: the credential moves to its class, due after its interval.
    await store.applyPoll(observation('u1', { observedAtMs: T0 + 10 * MIN }), new Date(T0 + 10 * MIN));
    expect(await schedule.dueOf('panorama', 'u1')).toEqual({ cls: 'healthy', dueMs: T0 + 25 * MIN });
    expect(await redis.zscore(scheduleKey(prefix, 'panorama', 'new'), 'u1')).toBeNull();
  });

  it('makes listed users due now on a manual sweep without adding them twice, and forgets removed ones', async () => {
    await store.applyPoll(observation('u1'), new Date(T0));
    await schedule.makeDue(['u1', 'u2'], T0 + MIN);
    expect(await schedule.dueOf('panorama', 'u1')).toEqual({ cls: 'healthy', dueMs: T0 + MIN });
    expect(await schedule.dueOf('panorama', 'u2')).toEqual({ cls: 'new', dueMs: T0 + MIN });
    const counts = await schedule.counts(T0 + MIN);
    expect(counts.reduce((sum, c) => sum + c.total, 0)).toBe(2);
    // A listing sees the same users again: nothing changes.
    expect(await schedule.addListed(['u1', 'u2'], T0 + 2 * MIN)).toBe(0);
    expect(await schedule.dueOf('panorama', 'u1')).toEqual({ cls: 'healthy', dueMs: T0 + MIN });
    // Removal takes the credential out of the schedule.
    await store.markSeen(['u2'], T0 + 3 * MIN);
    expect(await store.removeUnseen(T0 + 2 * MIN, T0 + 3 * MIN)).toBe(1);
    expect(await schedule.dueOf('panorama', 'u1')).toBeNull();
  });

  it('writes what polls cost per minute and the cached credential object with the poll', async () => {
    await store.applyPoll(observation('u1', { leafRequests: 2, credentialStatus: 'OK', credentialFetchedAtMs: T0 }), new Date(T0));
    await store.applyPoll(observation('u1', { observedAtMs: T0 + 1000, leafRequests: 1 }), new Date(T0 + 1000));
    const cost = await redis.hgetall(`${prefix}:pollcost`);
    const minute = Math.floor(T0 / MIN);
    expect(cost).toEqual({ [`p${minute}`]: '2', [`r${minute}`]: '3' });
    const context = await store.pollContext('panorama', 'u1');
    expect(context.cached).toEqual({ credential: { id: 'cred-u1', status: 'OK', clientEnvironment: 'PRODUCTION' }, fetchedAtMs: T0 });
    expect(context).toMatchObject({ category: 'healthy', cursorMs: T0 - 1000, lastEventId: 'e1' });
    await store.forgetCachedCredential('panorama', 'u1');
    expect((await store.pollContext('panorama', 'u1')).cached).toBeUndefined();
  });

  it('tops up the poll queue to the lookahead and no further, most urgent first, deduplicated', async () => {
    const queue = new Queue('poll', { connection: redis, prefix });
    try {
      await schedule.addListed(
        Array.from({ length: 30 }, (_, i) => `u${String(i).padStart(2, '0')}`),
        T0,
      );
      const releaser = new PollReleaser({
        schedule,
        pollQueue: queue,
        logger: testLogger(),
        pollsPerSecond: () => 5,
        now: () => T0 + 1000,
      });
      expect(await releaser.tick()).toBe(10);
      expect(await releaser.tick()).toBe(0);
      const jobs = await queue.getJobs(['prioritized', 'waiting']);
      expect(jobs.map((j) => j.data.leafUserId).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `u${String(i).padStart(2, '0')}`));
      expect(jobs.every((j) => j.opts.priority === 5 && j.data.reason === 'schedule')).toBe(true);
      // A lease that ends while its job still waits claims the user again; deduplication keeps one job.
      await queue.drain();
      await schedule.makeDue(['u00'], T0);
      await queue.add('poll', { provider: 'panorama', leafUserId: 'u00', reason: 'manual' }, { deduplication: { id: 'panorama:u00' } });
      await releaser.tick();
      const again = await queue.getJobs(['prioritized', 'waiting']);
      expect(again.filter((j) => j.data.leafUserId === 'u00')).toHaveLength(1);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
