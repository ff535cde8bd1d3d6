import type { Queue } from 'bullmq';
import type { ProviderId } from '../core/providers.js';
import { POLL_PRIORITY, type PollJobData, type PollReason } from './schedules.js';

/** The deduplication id of a user's poll: one poll per user and provider queued or running at a time. */
export function pollDedupId(provider: string, leafUserId: string): string {
  return `${provider}:${leafUserId}`;
}

/** Enqueues manual or alert-triggered polls, ahead of scheduled ones, deduplicated per user. */
export async function enqueuePolls(
  queue: Queue,
  providers: readonly ProviderId[],
  userIds: readonly string[],
  reason: Exclude<PollReason, 'schedule'>,
): Promise<void> {
  const jobs = [];
  for (const leafUserId of userIds) {
    for (const provider of providers) {
      jobs.push({
        name: 'poll',
        data: { provider, leafUserId, reason } satisfies PollJobData,
        opts: { deduplication: { id: pollDedupId(provider, leafUserId) }, priority: POLL_PRIORITY[reason] },
      });
    }
  }
  if (jobs.length > 0) await queue.addBulk(jobs);
}
