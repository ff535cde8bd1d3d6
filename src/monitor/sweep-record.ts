import type { Redis } from 'ioredis';

/** Sweep bookkeeping shown by /api/summary and the sweep gauges. */
export interface SweepInfo {
  lastStartedAt: string | null;
  lastFinishedAt: string | null;
  lastDurationMs: number | null;
  lastUsers: number | null;
  /** Start of the last sweep that listed every user (removal compares against it). */
  lastCompleteStartedAt: string | null;
}

/** When sweeps started and finished, and how many users the last one listed: one hash, `{prefix}:sweep`. */
export class SweepRecord {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = `${prefix}:sweep`;
  }

  /** Records the start of a sweep. */
  async started(at: Date): Promise<void> {
    await this.redis.hset(this.key, 'startedAt', at.toISOString());
  }

  /** Records a finished sweep (every user listed and enqueued) that started at `startedAt`. */
  async finished(at: Date, durationMs: number, users: number, startedAt: Date): Promise<void> {
    await this.redis.hset(
      this.key,
      'finishedAt',
      at.toISOString(),
      'durationMs',
      String(durationMs),
      'users',
      String(users),
      'completeStartedAt',
      startedAt.toISOString(),
    );
  }

  /** The last sweep's times and size. */
  async info(): Promise<SweepInfo> {
    const h = await this.redis.hgetall(this.key);
    return {
      lastStartedAt: h['startedAt'] ?? null,
      lastFinishedAt: h['finishedAt'] ?? null,
      lastDurationMs: h['durationMs'] === undefined ? null : Number(h['durationMs']),
      lastUsers: h['users'] === undefined ? null : Number(h['users']),
      lastCompleteStartedAt: h['completeStartedAt'] ?? null,
    };
  }
}
