import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Daemon } from '../src/main.js';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { PollSchedule } from '../src/monitor/poll-schedule.js';
import { api, simEvent, startTestDaemon, waitFor, waitForSweepDone } from './helpers/daemon.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from './helpers/redis.js';
import { startTestSimulator } from './helpers/simulator.js';

async function control(sim: StartedSimulator, method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${sim.url}/_sim${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`sim ${method} ${path} answered ${res.status}: ${await res.text()}`);
}

function fetchesByReason(metrics: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metrics.matchAll(/credwatch_credential_fetches_total\{reason="([a-z_]+)"\} (\d+)/g)) out[m[1] ?? ''] = Number(m[2]);
  return out;
}

describe('requests per poll: the cached credential object (real Redis, simulator)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('polls with one request in steady state, and fetches the credential whenever the events or its age ask for it', async () => {
    const prefix = uniquePrefix('pollcost');
    const sim = await startTestSimulator({ users: 0 });
    cleanups.push(() => sim.close());
    const healthy = Array.from({ length: 24 }, (_, i) => `grower-${i}`);
    for (const id of healthy) {
      await control(sim, 'POST', '/users', {
        id,
        credential: { status: 'OK', clientEnvironment: 'PRODUCTION' },
        events: [{ statusCode: 200, body: '{"organizations":[]}' }],
      });
    }
    await control(sim, 'POST', '/users', { id: 'unplugged', credential: null });
    const redis = new Redis(testRedisUrl());
    cleanups.push(async () => {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    });
    const daemon: Daemon = await startTestDaemon(sim, prefix, {
      env: { CREDWATCH_POLL_INTERVAL: '1s', CREDWATCH_CREDENTIAL_MAX_AGE: '6s', CREDWATCH_FAILING_RECHECK_INTERVAL: '1s' },
    });
    cleanups.push(() => daemon.close());
    const users = healthy.length + 1;
    await waitForSweepDone(daemon, users);

    // Steady state: every credential polled again several times; only the events are asked for.
    sim.sim.resetStats();
    const pollsBefore = await pollCount(daemon);
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const stats = sim.sim.stats();
    const polls = (await pollCount(daemon)) - pollsBefore;
    expect(polls).toBeGreaterThanOrEqual(users * 2);
    expect(stats.requests['get_credential'] ?? 0).toBe(0);
    const perPoll = ((stats.requests['get_events'] ?? 0) + (stats.requests['get_credential'] ?? 0)) / polls;
    expect(perPoll).toBeLessThanOrEqual(1.1);

    // The capacity report's gauges, read from shared state at scrape time.
    const gauges = await (await fetch(daemon.metricsUrl ?? '')).text();
    const gauge = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(gauges)?.[1]);
    expect(gauge('credwatch_poll_interval_seconds')).toBe(1);
    // The last 5 minutes hold the first pass (2 requests each) and the steady polls (1 each).
    expect(gauge('credwatch_poll_requests_per_poll')).toBeGreaterThan(1);
    expect(gauge('credwatch_poll_requests_per_poll')).toBeLessThan(1.5);
    // 25 credentials at 500 rps: a pass well under a second, so the 1 s interval is what credwatch keeps.
    expect(gauge('credwatch_poll_capacity_seconds')).toBeGreaterThan(0);
    expect(gauge('credwatch_poll_capacity_seconds')).toBeLessThan(1);
    expect(gauge('credwatch_poll_achievable_interval_seconds')).toBe(1);
    expect(gauge('credwatch_budget_utilization')).toBeGreaterThanOrEqual(0);
    // The same report in /api/summary.
    const summary = await api<{ capacity?: { credentials: number; configuredIntervalSeconds: number; achievableIntervalSeconds: number } }>(
      daemon,
      '/api/summary',
    );
    expect(summary.body.capacity).toMatchObject({ credentials: users, configuredIntervalSeconds: 1, achievableIntervalSeconds: 1 });

    // A new failure event: the credential object is fetched with it, the verdict as without a cache.
    await simEvent(sim, 'grower-1', 'expired');
    // Detached credential: the events answer 404 while a credential is cached.
    await control(sim, 'DELETE', '/users/grower-2/credential');
    // Attached credential: events appear where "not connected" was cached.
    await control(sim, 'PUT', '/users/unplugged/credential', { status: 'OK', clientEnvironment: 'PRODUCTION' });
    await waitFor(
      'the three changes seen',
      async () => {
        const [a, b, c] = await Promise.all(['grower-1', 'grower-2', 'unplugged'].map((id) => daemon.store.get('panorama', id)));
        return (
          a?.category === 'cognito_token_expired' && b?.category === 'not_connected' && c?.category === 'healthy' && c.credentialId !== null
        );
      },
      10_000,
    );
    const reasons = fetchesByReason(await (await fetch(daemon.metricsUrl ?? '')).text());
    expect(reasons['new_failure_event']).toBeGreaterThanOrEqual(1);
    expect(reasons['events_not_found']).toBeGreaterThanOrEqual(1);
    expect(reasons['events_appeared']).toBeGreaterThanOrEqual(1);
    // The failing credential's status is now UNAUTHENTICATED in the cache: it is fetched at each re-check.
    await waitFor(
      'a re-check of the failing credential',
      async () => (fetchesByReason(await (await fetch(daemon.metricsUrl ?? '')).text())['failing_status'] ?? 0) >= 1,
      10_000,
    );

    // A status change with no event reaches the verdict within the max age (Leaf's alert would be sooner).
    await control(sim, 'PUT', '/users/grower-3/credential', { status: 'MISSING_PERMISSION' });
    await waitFor(
      'the new status read once the cache is too old',
      async () => (await daemon.store.get('panorama', 'grower-3'))?.category === 'missing_permission',
      15_000,
    );

    // A manual poll fetches the credential object again.
    const before = sim.sim.stats().requests['get_credential'] ?? 0;
    expect((await api(daemon, '/api/credentials/grower-4/poll?provider=panorama', { method: 'POST' })).status).toBe(202);
    await waitFor('the manual poll', async () => (sim.sim.stats().requests['get_credential'] ?? 0) > before, 10_000);

    // Every verdict equals the simulator's ground truth.
    const wrong: string[] = [];
    for (const id of sim.sim.userIds()) {
      const state = await daemon.store.get('panorama', id);
      if (state?.category !== sim.sim.expectedCategory(id)) wrong.push(`${id}: ${state?.category} ≠ ${sim.sim.expectedCategory(id)}`);
    }
    expect(wrong).toEqual([]);
  }, 60_000);
});

describe('the schedule across a restart (real Redis, simulator)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('keeps every due time in Redis: a restarted daemon polls nobody early, and still polls on demand', async () => {
    const prefix = uniquePrefix('restart');
    const sim = await startTestSimulator({ users: 20, seed: 5 });
    cleanups.push(() => sim.close());
    const redis = new Redis(testRedisUrl());
    cleanups.push(async () => {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    });
    const first = await startTestDaemon(sim, prefix);
    await waitForSweepDone(first, 20);
    const schedule = new PollSchedule(redis, prefix, ['panorama']);
    const before = await Promise.all(sim.sim.userIds().map((id) => schedule.dueOf('panorama', id)));
    expect(before.every((d) => d !== null && d.dueMs > Date.now())).toBe(true);
    await first.close();

    sim.sim.resetStats();
    const second = await startTestDaemon(sim, prefix);
    cleanups.push(() => second.close());
    await new Promise((resolve) => setTimeout(resolve, 2000));
    // Its start-up listing re-lists users but adds none to the schedule, and no due time moved.
    const stats = sim.sim.stats();
    expect((stats.requests['get_events'] ?? 0) + (stats.requests['get_credential'] ?? 0)).toBe(0);
    const after = await Promise.all(sim.sim.userIds().map((id) => schedule.dueOf('panorama', id)));
    expect(after).toEqual(before);
    const id = sim.sim.userIds()[0] ?? '';
    await second.requestPoll('panorama', id);
    await waitFor('the manual poll', async () => (sim.sim.stats().requests['get_credential'] ?? 0) >= 1, 10_000);
  }, 30_000);
});

async function pollCount(daemon: Daemon): Promise<number> {
  const text = await (await fetch(daemon.metricsUrl ?? '')).text();
  let total = 0;
  for (const m of text.matchAll(/credwatch_polls_total\{provider="panorama",outcome="(ok|not_connected)"\} (\d+)/g)) total += Number(m[2]);
  return total;
}
