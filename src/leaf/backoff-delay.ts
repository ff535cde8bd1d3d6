/** Backoff settings of the Leaf client's own retries (5xx, network errors, timeouts). */
export interface BackoffDelayOptions {
  /** Delay cap of the first retry, in ms. */
  baseMs?: number;
  /** Largest delay cap, in ms. */
  maxMs?: number;
  /** A number in [0, 1); Math.random by default. */
  random?: () => number;
}

/**
 * Exponential backoff with full jitter: a uniform delay in [0, min(maxMs, baseMs * 2^attempt)), where
 * `attempt` counts from 0 for the first retry. Pure apart from `random`.
 */
export function backoffDelay(attempt: number, options: BackoffDelayOptions = {}): number {
  const base = options.baseMs ?? 250;
  const max = options.maxMs ?? 10_000;
  const random = options.random ?? Math.random;
  const cap = Math.min(max, base * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.floor(random() * cap);
}
