import { describe, expect, it } from 'vitest';
import type { CredentialEvent } from '../src/classify/types.js';
import {
  BUDGET_USABLE_SHARE,
  computeCapacity,
  describeCapacity,
  FIRST_PASS_REQUESTS_PER_POLL,
  requestsPerPollFrom,
  requiredRps,
} from '../src/monitor/capacity.js';
import { cacheRefusal, eventsContradictCache } from '../src/monitor/credential-cache.js';
import type { PollContext } from '../src/monitor/credential-store.js';
import { nextDueMs, scheduleClassOf } from '../src/monitor/poll-schedule.js';
import { releaseCount } from '../src/monitor/poll-releaser.js';

const MIN = 60_000;
const intervals = { pollIntervalMs: 15 * MIN, failingRecheckMs: 5 * MIN };

describe('schedule classes and due times (pure)', () => {
  it('puts healthy and not-connected credentials in the healthy class and every other category in failing', () => {
    expect(scheduleClassOf('healthy')).toBe('healthy');
    expect(scheduleClassOf('not_connected')).toBe('healthy');
    for (const c of ['cognito_token_expired', 'missing_permission', 'provider_unavailable', 'unclassified'] as const) {
      expect(scheduleClassOf(c)).toBe('failing');
    }
  });

  it.each([
    ['healthy after the poll interval', 'healthy', 0, 15 * MIN],
    ['a new failure after the re-check interval', 'cognito_token_expired', 0, 5 * MIN],
    ['a failure 20 min old after 10 min (half its age)', 'cognito_token_expired', 20 * MIN, 10 * MIN],
    ['a failure 3 days old after the poll interval, never later', 'missing_permission', 3 * 24 * 60 * MIN, 15 * MIN],
    ['a failure with an unknown start after the re-check interval', 'unclassified', Number.NaN, 5 * MIN],
  ] as const)('re-polls %s', (_name, category, age, expected) => {
    const polledAt = 1_000_000_000_000;
    expect(nextDueMs(category, polledAt, polledAt - age, intervals) - polledAt).toBe(expected);
  });

  it('never re-checks a failure less often than a healthy credential when the poll interval is the shorter', () => {
    expect(nextDueMs('cognito_token_expired', 0, 0, { pollIntervalMs: 2 * MIN, failingRecheckMs: 5 * MIN })).toBe(2 * MIN);
  });
});

describe('release pacing (pure)', () => {
  it.each([
    [0, 10, 2, 4, 20],
    [15, 10, 2, 4, 5],
    [25, 10, 2, 4, 0],
    [0, 0.5, 2, 4, 4],
    [0, Number.NaN, 2, 4, 4],
    [0, 10_000, 2, 4, 500],
  ])('with %i waiting at %d polls/s, %d s ahead, at least %i: releases %i', (waiting, rate, ahead, min, expected) => {
    expect(releaseCount(waiting, rate, ahead, min)).toBe(expected);
  });
});

describe('capacity (pure)', () => {
  it('computes the full pass from credentials, requests per poll and the usable budget, listing included', () => {
    const r = computeCapacity({ credentials: 20_000, requestsPerPoll: 1.02, rps: 10, pollIntervalMs: 15 * MIN, providers: 1 });
    // 20 000 × 1.02 + 200 listing pages = 20 600 requests at 9.9 rps.
    expect(r.fullPassSeconds).toBeCloseTo(20_600 / (10 * BUDGET_USABLE_SHARE), 6);
    expect(r.achievableIntervalSeconds).toBeCloseTo(r.fullPassSeconds, 6);
    expect(r.requiredRps).toBeCloseTo(20_600 / 900 / BUDGET_USABLE_SHARE, 6);
    expect(describeCapacity(r)).toMatch(/longer than CREDWATCH_POLL_INTERVAL \(15m\).*every 35m.*CREDWATCH_LEAF_RPS=23.2/);
  });

  it('keeps the configured interval when the budget allows it', () => {
    const r = computeCapacity({ credentials: 1000, requestsPerPoll: 1.05, rps: 10, pollIntervalMs: 15 * MIN, providers: 1 });
    expect(r.fullPassSeconds).toBeLessThan(900);
    expect(r.achievableIntervalSeconds).toBe(900);
    expect(describeCapacity(r)).toContain('within CREDWATCH_POLL_INTERVAL (15m)');
  });

  it('needs about 1.03 × N / interval requests per second at 1.02 requests per poll', () => {
    expect(requiredRps(100_000, 1.02, 3600 * 1000)).toBeCloseTo((102_000 + 1000) / 3600 / BUDGET_USABLE_SHARE, 6);
  });

  it('averages the requests per poll over the last 5 minutes and names older fields for pruning', () => {
    const now = 100 * MIN + 30_000;
    const fields = { p100: '50', r100: '51', p96: '50', r96: '52', p95: '10', r95: '20', junk: '3' };
    const got = requestsPerPollFrom(fields, now);
    expect(got.polls).toBe(100);
    expect(got.requestsPerPoll).toBeCloseTo(1.03, 6);
    expect(got.stale.sort()).toEqual(['junk', 'p95', 'r95']);
    expect(requestsPerPollFrom({}, now).requestsPerPoll).toBe(FIRST_PASS_REQUESTS_PER_POLL);
  });
});

function event(id: string, createdAtMs: number | null, statusCode: number | null): CredentialEvent {
  return {
    id,
    createdDate: createdAtMs === null ? '' : new Date(createdAtMs).toISOString(),
    createdAtMs,
    statusCode,
    headers: '',
    body: '',
  } as CredentialEvent;
}

describe('credential cache rules (pure)', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  const context = (over: Partial<PollContext> = {}): PollContext => ({
    cached: { credential: { id: 'c1', status: 'OK', clientEnvironment: 'PRODUCTION' }, fetchedAtMs: now - 3_600_000 },
    category: 'healthy',
    cursorMs: now - 600_000,
    lastEventId: 'e2',
    ...over,
  });

  it.each([
    ['nothing is cached', context({ cached: undefined }), 'not_cached'],
    [
      'the copy is as old as the max age',
      context({ cached: { credential: { id: 'c1', status: 'OK', clientEnvironment: null }, fetchedAtMs: now - 86_400_000 } }),
      'too_old',
    ],
    [
      'the copy says UNAUTHENTICATED',
      context({ cached: { credential: { id: 'c1', status: 'unauthenticated', clientEnvironment: null }, fetchedAtMs: now } }),
      'failing_status',
    ],
    [
      'the copy says MISSING_PERMISSION',
      context({ cached: { credential: { id: 'c1', status: 'MISSING_PERMISSION', clientEnvironment: null }, fetchedAtMs: now } }),
      'failing_status',
    ],
    [
      'the copy says TEMPORARILY_UNAVAILABLE',
      context({ cached: { credential: { id: 'c1', status: 'TEMPORARILY_UNAVAILABLE', clientEnvironment: null }, fetchedAtMs: now } }),
      'failing_status',
    ],
    ['the copy is fresh and OK', context(), null],
    [
      'the copy has a status Leaf never published',
      context({ cached: { credential: { id: 'c1', status: 'SOMETHING', clientEnvironment: null }, fetchedAtMs: now } }),
      null,
    ],
    ['the copy says not connected', context({ cached: { credential: null, fetchedAtMs: now } }), null],
  ] as const)('before the poll: %s → %s', (_name, ctx, expected) => {
    expect(cacheRefusal(ctx, now, 86_400_000)).toBe(expected);
  });

  const cursor = now - 600_000;
  it.each([
    ['404 while a credential is cached', { id: 'c1' }, { found: false as const }, 'events_not_found'],
    ['404 while not connected is cached', null, { found: false as const }, null],
    ['events while not connected is cached', null, { found: true as const, events: [] }, 'events_appeared'],
    [
      'only successes after the cursor',
      { id: 'c1' },
      { found: true as const, events: [event('e1', cursor - 1000, 400), event('e2', cursor, 200), event('e3', cursor + 1, 201)] },
      null,
    ],
    [
      'a new 400 after the cursor',
      { id: 'c1' },
      { found: true as const, events: [event('e2', cursor, 200), event('e3', cursor + 1, 400)] },
      'new_failure_event',
    ],
    [
      'a new event without a status',
      { id: 'c1' },
      { found: true as const, events: [event('e2', cursor, 200), event('e3', cursor + 1, null)] },
      'new_failure_event',
    ],
    [
      'an undated failure',
      { id: 'c1' },
      { found: true as const, events: [event('e2', cursor, 200), event('e3', null, 500)] },
      'new_failure_event',
    ],
    [
      'an old failure before the cursor only',
      { id: 'c1' },
      { found: true as const, events: [event('e0', cursor - 5000, 500), event('e2', cursor, 200)] },
      null,
    ],
    [
      'the last seen event is gone (log reset)',
      { id: 'c1' },
      { found: true as const, events: [event('e9', cursor + 5, 200)] },
      'log_reset',
    ],
    ['an empty log where events were', { id: 'c1' }, { found: true as const, events: [] }, 'log_reset'],
  ] as const)('after the events: %s → %s', (_name, cached, answer, expected) => {
    expect(eventsContradictCache(cached, answer, { cursorMs: cursor, lastEventId: 'e2' }, now)).toBe(expected);
  });

  it('does not call a log reset when the last seen event aged out of the 30-day retention', () => {
    const old = now - 29.5 * 86_400_000;
    expect(eventsContradictCache({ id: 'c1' }, { found: true, events: [] }, { cursorMs: old, lastEventId: 'e2' }, now)).toBeNull();
  });

  it('accepts any successful events on a credential whose log was empty last time', () => {
    const answer = { found: true as const, events: [event('e1', now - 1000, 200)] };
    expect(eventsContradictCache({ id: 'c1' }, answer, { cursorMs: null, lastEventId: null }, now)).toBeNull();
    const failing = { found: true as const, events: [event('e1', now - 1000, 401)] };
    expect(eventsContradictCache({ id: 'c1' }, failing, { cursorMs: null, lastEventId: null }, now)).toBe('new_failure_event');
  });
});
