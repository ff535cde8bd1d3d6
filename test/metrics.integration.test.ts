import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { CATEGORIES } from '../src/classify/categories.js';
import { api, simEvent, startTestDaemon, waitFor, waitForSweepDone } from './helpers/daemon.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from './helpers/redis.js';
import { startTestSimulator } from './helpers/simulator.js';

/** Parses the Prometheus text format into `name{labels}` → value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('/metrics of a running daemon after a scripted scenario', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('reports values that match the state: gauges equal /api/summary, transitions counted once', async () => {
    const users = 50;
    const sim = await startTestSimulator({ users, seed: 5 });
    cleanups.push(() => sim.close());
    const prefix = uniquePrefix('metrics');
    const redis = new Redis(testRedisUrl());
    cleanups.push(async () => {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    });
    const daemon = await startTestDaemon(sim, prefix, { env: { CREDWATCH_METRICS_PORT: '0' } });
    cleanups.push(() => daemon.close());
    expect(daemon.metricsUrl).not.toBe(`${daemon.httpUrl}/metrics`);
    // With a separate metrics port, the main port does not serve /metrics.
    expect((await fetch(`${daemon.httpUrl}/metrics`)).status).not.toBe(200);

    const before = parseMetrics(await (await fetch(daemon.metricsUrl ?? '')).text());
    // Known label sets start at 0 so rate() works from the first scrape.
    expect(before.get('credwatch_polls_total{provider="panorama",outcome="ok"}')).toBe(0);
    expect(before.get('credwatch_leaf_requests_total{operation="get_events",status_class="5xx"}')).toBe(0);
    for (const c of CATEGORIES) expect(before.get(`credwatch_events_classified_total{provider="panorama",category="${c}"}`)).toBe(0);

    await waitForSweepDone(daemon, users);
    const healthyUser = sim.sim.userIds().find((id) => sim.sim.expectedCategory(id) === 'healthy') ?? '';
    await simEvent(sim, healthyUser, 'env_mismatch');
    await daemon.requestPoll('panorama', healthyUser);
    await waitFor(
      'the scripted failure',
      async () => (await daemon.store.get('panorama', healthyUser))?.category === 'environment_mismatch',
    );
    await waitForSweepDone(daemon, users);

    const m = parseMetrics(await (await fetch(daemon.metricsUrl ?? '')).text());
    const summary = (await api<{ categories: Record<string, number>; total: number }>(daemon, '/api/summary')).body;
    for (const c of CATEGORIES) expect(m.get(`credwatch_credentials{provider="panorama",category="${c}"}`)).toBe(summary.categories[c]);
    expect(m.get('credwatch_credential_transitions_total{provider="panorama",from="healthy",to="environment_mismatch"}')).toBe(1);
    // provider_unavailable for longer than CREDWATCH_PROVIDER_UNAVAILABLE_AFTER (6h by default), from each `since`.
    const unavailable = (await api<{ items: Array<{ since: string }> }>(daemon, '/api/credentials?category=provider_unavailable&limit=500'))
      .body.items;
    const overdue = unavailable.filter((c) => Date.parse(c.since) < Date.now() - 6 * 3_600_000).length;
    expect(unavailable.length).toBeGreaterThan(0);
    expect(m.get('credwatch_provider_unavailable_overdue_credentials{provider="panorama"}')).toBe(overdue);

    const connected = sim.sim.userIds().filter((id) => sim.sim.user(id)?.credential).length;
    const notConnected = users - connected;
    expect(m.get('credwatch_polls_total{provider="panorama",outcome="ok"}')).toBe(connected + 1);
    expect(m.get('credwatch_polls_total{provider="panorama",outcome="not_connected"}')).toBe(notConnected);
    expect(m.get('credwatch_leaf_requests_total{operation="get_credential",status_class="2xx"}')).toBe(connected + 1);
    expect(m.get('credwatch_leaf_requests_total{operation="get_credential",status_class="4xx"}')).toBe(notConnected);
    expect(m.get('credwatch_leaf_requests_total{operation="get_events",status_class="2xx"}')).toBe(connected + 1);
    expect(m.get('credwatch_leaf_requests_total{operation="list_users",status_class="2xx"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('credwatch_poll_duration_seconds_count{provider="panorama"}')).toBe(users + 1);
    // Every event of every connected credential classified once, plus the one scripted event.
    const events = sim.sim.userIds().reduce((n, id) => n + new Set((sim.sim.user(id)?.events ?? []).map((e) => e.id)).size, 0);
    const classified = CATEGORIES.reduce(
      (n, c) => n + (m.get(`credwatch_events_classified_total{provider="panorama",category="${c}"}`) ?? 0),
      0,
    );
    expect(classified).toBe(events);
    expect(m.get('credwatch_events_classified_total{provider="panorama",category="environment_mismatch"}')).toBeGreaterThanOrEqual(1);
    // Only the scripted event arrived between two polls: one detection latency sample.
    expect(m.get('credwatch_detection_latency_seconds_count{provider="panorama"}')).toBe(1);
    expect(m.get('credwatch_oldest_poll_age_seconds{provider="panorama"}')).toBeGreaterThanOrEqual(0);
    expect(m.get('credwatch_oldest_poll_age_seconds{provider="panorama"}')).toBeLessThan(60);
    expect(m.get('credwatch_sweep_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(m.get('credwatch_queue_jobs{queue="poll",state="waiting"}')).toBe(0);
    expect(m.get('credwatch_queue_jobs{queue="poll",state="failed"}')).toBe(0);
    expect([...m.keys()].some((k) => k.startsWith('credwatch_build_info{version="'))).toBe(true);
    expect(m.has('process_resident_memory_bytes')).toBe(true);
    // No label value is a user id, a credential id or a URL.
    const text = await (await fetch(daemon.metricsUrl ?? '')).text();
    for (const id of sim.sim.userIds()) expect(text).not.toContain(id);
    expect(text).not.toContain('http://');
  });
});
