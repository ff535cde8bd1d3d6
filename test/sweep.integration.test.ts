import type { Job } from 'bullmq';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { LeafError } from '../src/leaf/errors.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { CredentialStore } from '../src/monitor/credential-store.js';
import type { SweepJobData } from '../src/monitor/schedules.js';
import { PollSchedule } from '../src/monitor/poll-schedule.js';
import { createSweepProcessor, type LeafUserLister } from '../src/monitor/sweep.processor.js';
import { testLogger } from './helpers/daemon.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';

/** Leaf's user listing, paged like the client's, refusing one page once with a 429. */
function listerRefusingOnce(pages: string[][], refusePage: number): { lister: LeafUserLister; requested: number[] } {
  const requested: number[] = [];
  let refused = false;
  return {
    requested,
    lister: {
      async *listUserPages(options = {}) {
        for (let page = options.startPage ?? 0; page < pages.length; page += 1) {
          requested.push(page);
          if (page === refusePage && !refused) {
            refused = true;
            throw new LeafError('LEAF_RATE_LIMITED', 'Leaf answered 429', { operation: 'list_users', status: 429, retryAfterMs: 50 });
          }
          yield { users: (pages[page] ?? []).map((id) => ({ id })), page, total: pages.flat().length };
        }
      },
    },
  };
}

describe('sweep processor (real Redis, real BullMQ queue)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('waits out a 429 on the user listing and resumes at the refused page, scheduling each user once', async () => {
    const prefix = uniquePrefix('sweep');
    const { redis, cleanup } = await testRedis(prefix);
    cleanups.push(cleanup);
    const schedule = new PollSchedule(redis, prefix, ['panorama']);
    const store = new CredentialStore(redis, prefix, { historyLimit: 5, providers: ['panorama'] });
    const { lister, requested } = listerRefusingOnce([['u1', 'u2'], ['u3', 'u4'], ['u5']], 1);
    const sweep = createSweepProcessor({
      leaf: lister,
      store,
      schedule,
      metrics: createMetrics(new Registry(), { providers: ['panorama'], version: 'test', defaultMetrics: false }),
      logger: testLogger(),
    });
    const job = { id: 'sweep-1', data: { trigger: 'schedule' }, updateProgress: async () => undefined } as unknown as Job<SweepJobData>;
    await expect(sweep(job)).resolves.toEqual({ users: 5 });

    expect(requested).toEqual([0, 1, 1, 2]);
    // Listed users are scheduled as new (due now), once each; the releaser, not the sweep, enqueues polls.
    const counts = await schedule.counts(Date.now());
    expect(counts.find((c) => c.cls === 'new')).toMatchObject({ total: 5, due: 5 });
    expect((await schedule.claim(10, Date.now())).map((c) => c.leafUserId).sort()).toEqual(['u1', 'u2', 'u3', 'u4', 'u5']);
    expect((await store.sweeps.info()).lastUsers).toBe(5);
  });
});
