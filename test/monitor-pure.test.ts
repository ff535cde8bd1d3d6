import { describe, expect, it } from 'vitest';
import { CredwatchError } from '../src/errors.js';
import { LeafError } from '../src/leaf/errors.js';
import { classifyPollError } from '../src/monitor/poll.processor.js';
import { jitteredBackoff } from '../src/monitor/schedules.js';

describe('classifyPollError: one place maps failures to queue behaviour', () => {
  it('turns a Leaf 429 into a queue rate-limit for Retry-After (1 s when Leaf gave none)', () => {
    expect(
      classifyPollError(new LeafError('LEAF_RATE_LIMITED', 'slow down', { operation: 'get_events', status: 429, retryAfterMs: 7000 })),
    ).toEqual({
      kind: 'rate_limited',
      retryAfterMs: 7000,
    });
    expect(classifyPollError(new LeafError('LEAF_RATE_LIMITED', 'slow down', { operation: 'get_events', status: 429 }))).toEqual({
      kind: 'rate_limited',
      retryAfterMs: 1000,
    });
  });

  it('does not retry what cannot get better, and retries everything else', () => {
    expect(classifyPollError(new LeafError('LEAF_NOT_FOUND', 'gone', { operation: 'get_events', status: 404 }))).toEqual({
      kind: 'permanent',
    });
    expect(classifyPollError(new LeafError('LEAF_REQUEST_REJECTED', 'no', { operation: 'get_credential', status: 400 }))).toEqual({
      kind: 'permanent',
    });
    expect(classifyPollError(new LeafError('LEAF_UNAVAILABLE', 'down', { operation: 'get_credential', status: 503 }))).toEqual({
      kind: 'retry',
    });
    expect(classifyPollError(new LeafError('LEAF_BAD_RESPONSE', 'garbled', { operation: 'get_events', status: 200 }))).toEqual({
      kind: 'retry',
    });
    expect(classifyPollError(new CredwatchError('REDIS_UNAVAILABLE', 'redis down'))).toEqual({ kind: 'retry' });
    expect(classifyPollError(new Error('anything else'))).toEqual({ kind: 'retry' });
  });
});

describe('jitteredBackoff', () => {
  it('doubles from the base, keeps half the ceiling plus jitter, and is capped', () => {
    expect(jitteredBackoff(1, 2000, () => 0)).toBe(1000);
    expect(jitteredBackoff(1, 2000, () => 0.999_999)).toBe(2000);
    expect(jitteredBackoff(3, 2000, () => 0)).toBe(4000);
    expect(jitteredBackoff(30, 2000, () => 1)).toBe(5 * 60_000);
  });
});
