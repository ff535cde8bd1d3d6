import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Daemon } from '../src/main.js';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { startTestDaemon, waitForSweepDone } from './helpers/daemon.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from './helpers/redis.js';
import { startTestSimulator } from './helpers/simulator.js';

function metricValue(text: string, pattern: RegExp): number {
  const match = text.match(pattern);
  return match ? Number(match[1]) : Number.NaN;
}

describe('Leaf request budget, 429s and several daemons (real Redis, simulator)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function simAndPrefix(users: number): Promise<{ sim: StartedSimulator; prefix: string }> {
    const prefix = uniquePrefix('budget');
    const sim = await startTestSimulator({ users, seed: 11 });
    cleanups.push(() => sim.close());
    const redis = new Redis(testRedisUrl());
    cleanups.push(async () => {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    });
    return { sim, prefix };
  }

  async function daemon(
    sim: StartedSimulator,
    prefix: string,
    env: Record<string, string>,
    roles?: Array<'scheduler' | 'worker' | 'http'>,
  ): Promise<Daemon> {
    const d = await startTestDaemon(sim, prefix, { env, ...(roles ? { roles } : {}) });
    cleanups.push(() => d.close());
    return d;
  }

  it('keeps the request rate seen by Leaf within the budget shared by two daemons, and polls each user once', async () => {
    const users = 60;
    const rps = 20;
    const { sim, prefix } = await simAndPrefix(users);
    const env = { CREDWATCH_LEAF_RPS: String(rps), CREDWATCH_POLL_CONCURRENCY: '6' };
    // The worker-only daemon first; the scheduler's daemon sweeps once as it starts.
    const workerOnly = await daemon(sim, prefix, env, ['worker']);
    sim.sim.resetStats();
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, sim.sim.stats().currentRps);
    }, 50);
    cleanups.push(async () => clearInterval(sampler));
    const a = await daemon(sim, prefix, env);
    await waitForSweepDone(a, users, 60_000);
    clearInterval(sampler);

    const stats = sim.sim.stats();
    const connected = sim.sim.userIds().filter((id) => sim.sim.user(id)?.credential).length;
    // Two daemons, one sweep: each user's credential and events fetched exactly once.
    expect(stats.requests['list_users']).toBe(1);
    expect(stats.requests['get_credential']).toBe(users);
    expect(stats.requests['get_events']).toBe(connected);
    expect(stats.rateLimited).toBe(0);
    // The simulator counts requests in a sliding 1 s window; GCRA spaces them 1/rps apart, so a window can
    // hold rps requests, plus one at its edge when two arrive a little closer than sent.
    expect(peak).toBeGreaterThan(rps / 2);
    expect(peak).toBeLessThanOrEqual(rps + 1);
    // A worker-only process serves its own health and metrics, so its polls are scraped too.
    const probe = new URL(workerOnly.metricsUrl ?? '');
    expect((await fetch(new URL('/healthz', probe))).status).toBe(200);
    const text = await (await fetch(probe)).text();
    const workerPolls = metricValue(text, /credwatch_polls_total\{provider="panorama",outcome="ok"\} (\d+)/);
    const mainPolls = metricValue(
      await (await fetch(a.metricsUrl ?? '')).text(),
      /credwatch_polls_total\{provider="panorama",outcome="ok"\} (\d+)/,
    );
    expect(workerPolls + mainPolls).toBe(connected);
  });

  it('slows down on Leaf 429s without failing jobs', async () => {
    const users = 40;
    const { sim, prefix } = await simAndPrefix(users);
    // Leaf allows 8 requests per second; credwatch is (wrongly) told it may send 40.
    sim.sim.setFaults({ rateLimitRps: 8 });
    const d = await daemon(sim, prefix, { CREDWATCH_LEAF_RPS: '40' });
    await waitForSweepDone(d, users, 90_000);

    expect(sim.sim.stats().rateLimited).toBeGreaterThan(0);
    const failed = await d.pollQueue.getJobCounts('failed');
    expect(failed['failed']).toBe(0);
    for (const id of sim.sim.userIds()) expect((await d.store.get('panorama', id))?.category).toBe(sim.sim.expectedCategory(id));
    const text = await (await fetch(d.metricsUrl ?? '')).text();
    expect(metricValue(text, /credwatch_polls_total\{provider="panorama",outcome="rate_limited"\} (\d+)/)).toBeGreaterThan(0);
    expect(metricValue(text, /credwatch_leaf_requests_total\{operation="get_credential",status_class="429"\} (\d+)/)).toBeGreaterThan(0);
  });
});
