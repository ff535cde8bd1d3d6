import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../src/core/retry-after.js';

describe('parseRetryAfter (the one parser, for Leaf and webhook receivers)', () => {
  const now = Date.parse('2026-11-29T12:00:00Z');

  it('reads delta seconds, fractions included, and the first of repeated headers', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 1.25 ', now, 60_000)).toBe(1250);
    expect(parseRetryAfter(['4', '9'], now)).toBe(4000);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter('Sun, 29 Nov 2026 12:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 11:59:00 GMT', now)).toBe(0);
  });

  it('ignores what is neither (a bare negative number would parse as a year)', () => {
    for (const value of ['-5', '', '  ', 'soon', '1e3', undefined, []]) expect(parseRetryAfter(value, now), String(value)).toBeUndefined();
  });

  it('caps at the caller’s maximum, one day by default', () => {
    expect(parseRetryAfter('86400000', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('120', now, 60_000)).toBe(60_000);
  });
});
