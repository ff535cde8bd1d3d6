import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../src/core/retry-after.js';
import { DEFAULT_RETRY_SCHEDULE_MS, retryDelay } from '../src/webhooks/retry-delay.js';

describe('retryDelay', () => {
  it('follows the default schedule, reaching about a day in total', () => {
    const delays = DEFAULT_RETRY_SCHEDULE_MS.map((_, i) =>
      retryDelay({ failedAttempts: i + 1, schedule: DEFAULT_RETRY_SCHEDULE_MS, random: 0.5 }),
    );
    expect(delays).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    const totalHours = delays.reduce((a, b) => a + b, 0) / 3_600_000;
    expect(totalHours).toBeGreaterThan(24);
    expect(totalHours).toBeLessThan(30);
    expect(retryDelay({ failedAttempts: 8, schedule: DEFAULT_RETRY_SCHEDULE_MS, random: 0.5 })).toBe(-1);
  });

  it('jitters each delay within ±10 %', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, random) => {
        const base = DEFAULT_RETRY_SCHEDULE_MS[n - 1] ?? 0;
        const d = retryDelay({ failedAttempts: n, schedule: DEFAULT_RETRY_SCHEDULE_MS, random });
        return d >= Math.floor(base * 0.9) && d <= Math.ceil(base * 1.1);
      }),
    );
    expect(retryDelay({ failedAttempts: 1, schedule: [1000], random: 0 })).toBe(900);
    expect(retryDelay({ failedAttempts: 1, schedule: [1000], random: 0.999999 })).toBe(1100);
  });

  it('never retries sooner than Retry-After', () => {
    expect(retryDelay({ failedAttempts: 1, schedule: [50], random: 0.5, retryAfterMs: 2000 })).toBe(2000);
    expect(retryDelay({ failedAttempts: 2, schedule: [50, 300_000], random: 0.5, retryAfterMs: 2000 })).toBe(300_000);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-02T10:00:00Z');
  it('reads delta seconds and HTTP dates, capped', () => {
    expect(parseRetryAfter('2', now, 60_000)).toBe(2000);
    expect(parseRetryAfter('Mon, 02 Nov 2026 10:00:30 GMT', now, 60_000)).toBe(30_000);
    expect(parseRetryAfter('Mon, 02 Nov 2026 09:00:00 GMT', now, 60_000)).toBe(0);
    expect(parseRetryAfter('86400', now, 60_000)).toBe(60_000);
  });
  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(undefined, now, 60_000)).toBeUndefined();
    expect(parseRetryAfter('soon', now, 60_000)).toBeUndefined();
    expect(parseRetryAfter('-5', now, 60_000)).toBeUndefined();
  });
});
