/** Delays between delivery attempts: 5 s, 5 m, 30 m, 2 h, 5 h, 10 h, 10 h (8 attempts over about 28 h). */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/** Jitter applied to each delay: ±10 %, so receivers recovering from an outage are not hit in lockstep. */
export const RETRY_JITTER = 0.1;

/**
 * The delay before the next attempt, after `failedAttempts` failed ones (1 = the first failed), or -1
 * when the schedule is exhausted. A `Retry-After` from the receiver is honoured: the delay is never
 * shorter than it. `random` is a number in [0, 1) (pass Math.random()).
 */
export function retryDelay(input: {
  failedAttempts: number;
  schedule: readonly number[];
  random: number;
  retryAfterMs?: number | undefined;
}): number {
  const base = input.schedule[input.failedAttempts - 1];
  if (base === undefined) return -1;
  const jittered = Math.round(base * (1 - RETRY_JITTER + 2 * RETRY_JITTER * input.random));
  const floor = input.retryAfterMs ?? 0;
  return Math.max(jittered, floor);
}
