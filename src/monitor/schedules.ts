import type { DefaultJobOptions, Queue } from 'bullmq';

/** Queue names (BullMQ keys are `{prefix}:{name}:...`). */
export const QUEUES = { sweep: 'sweep', poll: 'poll' } as const;

/** Why a poll was asked for (`schedule`: it was due); only ids and reasons go into job data, never a secret. */
export type PollReason = 'schedule' | 'manual' | 'leaf_alert';

/** Data of a poll job. */
export interface PollJobData {
  provider: string;
  leafUserId: string;
  reason: PollReason;
}

/** Data of a sweep job. */
export interface SweepJobData {
  trigger: 'schedule' | 'manual';
}

/** Priorities: a manual or alert-triggered poll goes ahead of scheduled ones (lower is sooner; see poll-schedule.ts). */
export const POLL_PRIORITY: Record<Exclude<PollReason, 'schedule'>, number> = { manual: 1, leaf_alert: 1 };

/** Defaults of every poll job: bounded retries with backoff, trimmed history (bounded Redis memory). */
export const POLL_JOB_DEFAULTS: DefaultJobOptions = {
  attempts: 5,
  backoff: { type: 'jittered', delay: 2000 },
  removeOnComplete: true,
  removeOnFail: { age: 24 * 3600, count: 1000 },
};

/** Defaults of sweep jobs. */
export const SWEEP_JOB_DEFAULTS: DefaultJobOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 10_000 },
  removeOnComplete: { count: 10 },
  removeOnFail: { count: 50 },
};

/** The id of the one repeatable job: every periodic job credwatch runs is declared in this list. */
export const SWEEP_SCHEDULER_ID = 'sweep-every-interval';

/**
 * Declares every repeatable job. Idempotent: every scheduler-role process calls it at start and the
 * schedulers converge on one definition per id (BullMQ job schedulers, not legacy repeatable jobs).
 */
export async function upsertSchedules(queues: { sweep: Queue }, options: { pollIntervalMs: number }): Promise<void> {
  await queues.sweep.upsertJobScheduler(
    SWEEP_SCHEDULER_ID,
    { every: options.pollIntervalMs },
    { name: 'sweep', data: { trigger: 'schedule' } satisfies SweepJobData, opts: SWEEP_JOB_DEFAULTS },
  );
  // Only one sweep at a time across every process: an overlapping sweep would only re-list users.
  await queues.sweep.setGlobalConcurrency(1);
}

/** Exponential backoff with full jitter, in ms (pure): attempt 1 → up to base, doubling, capped. */
export function jitteredBackoff(attemptsMade: number, baseMs: number, random: () => number = Math.random, capMs = 5 * 60_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
