import type { Job } from 'bullmq';
import { isLeafError } from '../leaf/errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { CredentialStore } from './credential-store.js';
import type { ListedUser } from './grower-identity.js';
import type { PollSchedule } from './poll-schedule.js';
import type { SweepJobData } from './schedules.js';

/** What the sweep needs from the Leaf client: pages of users, never all users at once. */
export interface LeafUserLister {
  listUserPages(options?: {
    size?: number;
    startPage?: number;
  }): AsyncGenerator<{ users: ListedUser[]; page: number; total: number | undefined }>;
}

/** How many 429s in a row a sweep waits out before it gives up (and BullMQ retries the sweep). */
const MAX_RATE_LIMITED_PAGES = 20;

/** Dependencies of the sweep processor. */
export interface SweepProcessorDeps {
  leaf: LeafUserLister;
  store: CredentialStore;
  /** Where listed users are scheduled: new ones due now; on a manual sweep, every listed one due now. */
  schedule: Pick<PollSchedule, 'addListed' | 'makeDue'>;
  /** Called once a listing completed with every user (the capacity report is logged there). */
  afterListing?: (users: number) => Promise<void>;
  metrics: Metrics;
  logger: Logger;
  now?: () => Date;
}

/**
 * Builds the sweep processor: pages through Leaf's users, schedules the new ones (the releaser polls them
 * first, within the budget), marks users seen, and at the end marks removed those that the previous
 * complete sweep and this one did not list (so a user is marked removed at most one interval after Leaf
 * stops listing it). A manual sweep also makes every listed user due now.
 */
export function createSweepProcessor(deps: SweepProcessorDeps) {
  const now = deps.now ?? (() => new Date());
  return async function processSweep(job: Job<SweepJobData>): Promise<{ users: number }> {
    const started = now();
    const log = deps.logger.child({ jobId: job.id, sweep: job.data.trigger });
    const previous = await deps.store.sweeps.info();
    await deps.store.sweeps.started(started);
    let users = 0;
    let newUsers = 0;
    let lastProgress = 0;
    let nextPage = 0;
    let rateLimitedInARow = 0;
    for (;;) {
      try {
        for await (const page of deps.leaf.listUserPages({ size: 100, startPage: nextPage })) {
          rateLimitedInARow = 0;
          nextPage = page.page + 1;
          const ids = page.users.map((u) => u.id);
          await deps.store.markSeen(ids, started.getTime(), page.users);
          if (job.data.trigger === 'manual') await deps.schedule.makeDue(ids, now().getTime());
          else newUsers += await deps.schedule.addListed(ids, now().getTime());
          users += ids.length;
          if (page.total !== undefined && page.total > 0) {
            const pct = Math.floor((users / page.total) * 100);
            await job.updateProgress(pct);
            if (pct >= lastProgress + 25) {
              lastProgress = pct;
              log.info({ users, total: page.total }, `sweep listed ${pct}% of users`);
            }
          }
        }
        break;
      } catch (error) {
        // A 429 while listing: wait it out and resume at the refused page, rather than start over.
        if (!isLeafError(error, 'LEAF_RATE_LIMITED') || ++rateLimitedInARow > MAX_RATE_LIMITED_PAGES) throw error;
        const waitMs = error.retryAfterMs !== undefined && error.retryAfterMs > 0 ? error.retryAfterMs : 1000;
        log.warn({ page: nextPage, waitMs }, 'Leaf rate limited the user listing; resuming after Retry-After');
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
    // Users that neither the previous complete sweep nor this one listed, and nobody polled since, are gone.
    const since = previous.lastCompleteStartedAt ? Date.parse(previous.lastCompleteStartedAt) : Number.NaN;
    const removed = Number.isFinite(since) ? await deps.store.removeUnseen(since, now().getTime()) : 0;
    const finished = now();
    const durationMs = finished.getTime() - started.getTime();
    await deps.store.sweeps.finished(finished, durationMs, users, started);
    deps.metrics.sweepDuration.set(durationMs / 1000);
    log.info({ users, newUsers, removed, durationMs }, 'sweep listed every user');
    await deps.afterListing?.(users);
    return { users };
  };
}
