/**
 * How often BullMQ looks for stalled jobs, from the job lock duration. A crashed worker's job is moved
 * back once its lock expired *and* a stalled check ran after that, so recovery takes the lock duration plus
 * up to one interval. With the interval equal to the lock (30 s) that was 30–60 s (52–54 s measured);
 * checking every lock/6 (at most 5 s, at least 1 s) keeps it at "about the lock duration" for the price of
 * one cheap script per worker every few seconds.
 */
export function stalledCheckIntervalMs(lockDurationMs: number): number {
  return Math.max(1000, Math.min(5000, Math.round(lockDurationMs / 6)));
}
