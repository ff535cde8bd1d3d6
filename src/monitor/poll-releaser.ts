import type { Queue } from 'bullmq';
import type { ProviderId } from '../core/providers.js';
import { safeError, type Logger } from '../logger.js';
import { CLASS_PRIORITY, type ClaimedPoll, type PollSchedule } from './poll-schedule.js';
import type { PollJobData } from './schedules.js';
import { pollDedupId } from './poll-jobs.js';

/** Options of the releaser. */
export interface PollReleaserOptions {
  schedule: PollSchedule;
  pollQueue: Queue;
  logger: Logger;
  /** Polls per second the budget sustains now (rps / requests per poll); read at each tick. */
  pollsPerSecond(): number;
  /** Seconds of polls kept waiting in the queue ahead of the workers (default 2). */
  lookaheadSeconds?: number;
  /** Fewest polls kept waiting, whatever the rate (default 4). */
  minBacklog?: number;
  /** How often the backlog is topped up (default 250 ms). */
  tickMs?: number;
  now?: () => number;
}

/** Most polls claimed in one tick (one Lua call, one addBulk). */
const MAX_CLAIM = 500;

/** How many polls to release so that the queue holds `target` (pure). */
export function releaseCount(waiting: number, pollsPerSecond: number, lookaheadSeconds: number, minBacklog: number): number {
  const rate = Number.isFinite(pollsPerSecond) && pollsPerSecond > 0 ? pollsPerSecond : 0;
  const target = Math.max(minBacklog, Math.ceil(rate * lookaheadSeconds));
  return Math.min(MAX_CLAIM, Math.max(0, target - waiting));
}

/**
 * Releases due polls from the schedule into the poll queue at the pace the workers take them: the queue
 * holds only a couple of seconds of polls, so the order is decided by the schedule (risk class, then due
 * time) at the last moment, and a sweep no longer drops every user into the queue at once. Several
 * releasers (one per scheduler process) are safe: claims are atomic and the poll jobs deduplicated.
 */
export class PollReleaser {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failingSince: number | undefined;

  constructor(private readonly o: PollReleaserOptions) {}

  /** Starts releasing (every tick) until stop(). */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .then(() => undefined)
        .catch((error: unknown) => this.reportFailure(error))
        .finally(() => {
          this.running = undefined;
          this.schedule(this.o.tickMs ?? 250);
        });
    }, delayMs);
  }

  private reportFailure(error: unknown): void {
    const now = Date.now();
    // Redis down: one line when it starts failing and one a minute after, not one per tick.
    if (this.failingSince === undefined || now - this.failingSince >= 60_000) {
      this.failingSince = now;
      this.o.logger.warn({ err: safeError(error) }, 'could not release due polls; retrying');
    }
  }

  /** One top-up: counts the waiting polls, claims the difference, enqueues it. Returns how many were released. */
  async tick(): Promise<number> {
    const counts = await this.o.pollQueue.getJobCounts('waiting', 'prioritized');
    const waiting = (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0);
    const want = releaseCount(waiting, this.o.pollsPerSecond(), this.o.lookaheadSeconds ?? 2, this.o.minBacklog ?? 4);
    if (want === 0) return 0;
    const claimed = await this.o.schedule.claim(want, (this.o.now ?? Date.now)());
    if (claimed.length > 0) await this.o.pollQueue.addBulk(claimed.map(pollJob));
    this.failingSince = undefined;
    return claimed.length;
  }

  /** Stops releasing; resolves once the tick in progress (if any) is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}

function pollJob(claim: ClaimedPoll) {
  const data: PollJobData = { provider: claim.provider satisfies ProviderId, leafUserId: claim.leafUserId, reason: 'schedule' };
  return {
    name: 'poll',
    data,
    opts: { deduplication: { id: pollDedupId(claim.provider, claim.leafUserId) }, priority: CLASS_PRIORITY[claim.cls] },
  };
}
