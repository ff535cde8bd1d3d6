import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { Redis } from 'ioredis';
import type { Daemon } from '../src/main.js';
import { startDaemon } from '../src/main.js';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { ADMIN_TOKEN, api, daemonEnv, simEvent, startTestDaemon, testLogger, waitFor, waitForSweepDone } from './helpers/daemon.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from './helpers/redis.js';
import { RedisServerProcess } from './helpers/redis-server.js';
import { startTestSimulator } from './helpers/simulator.js';

describe('monitor daemon against the simulator (real Redis, real HTTP)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(
    users: number,
    env: Record<string, string> = {},
  ): Promise<{ sim: StartedSimulator; daemon: Daemon; prefix: string }> {
    const prefix = uniquePrefix('monitor');
    const sim = await startTestSimulator({ users, seed: 7 });
    cleanups.push(() => sim.close());
    const redis = new Redis(testRedisUrl());
    cleanups.push(async () => {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    });
    const daemon = await startTestDaemon(sim, prefix, { env });
    cleanups.push(() => daemon.close());
    return { sim, daemon, prefix };
  }

  it('brings every seeded credential into its expected category, visible through the API', async () => {
    const users = 120;
    const { sim, daemon } = await setup(users);
    await waitForSweepDone(daemon, users);

    const wrong: string[] = [];
    for (const id of sim.sim.userIds()) {
      const state = await daemon.store.get('panorama', id);
      if (state?.category !== sim.sim.expectedCategory(id))
        wrong.push(`${id}: got ${state?.category}, expected ${sim.sim.expectedCategory(id)}`);
    }
    expect(wrong).toEqual([]);

    const summary = await api<{ total: number; categories: Record<string, number>; sweep: { lastFinishedAt: string | null } }>(
      daemon,
      '/api/summary',
    );
    expect(summary.status).toBe(200);
    expect(summary.body.total).toBe(users);
    const expected = sim.sim.expected();
    for (const [category, n] of Object.entries(expected)) expect(summary.body.categories[category] ?? 0).toBe(n);
    expect(summary.body.sweep.lastFinishedAt).not.toBeNull();

    // Paging through one category returns each credential once.
    const failing = Object.entries(expected).find(([c, n]) => c !== 'healthy' && n >= 2);
    expect(failing).toBeDefined();
    const [category, count] = failing ?? ['', 0];
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ leafUserId: string; category: string; action: string }>; nextCursor: string | null } } =
        await api(daemon, `/api/credentials?category=${category}&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      for (const item of page.body.items) {
        expect(item.category).toBe(category);
        ids.push(item.leafUserId);
      }
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(ids).toHaveLength(count);
    expect(new Set(ids).size).toBe(count);

    // Job data holds ids and reasons only: no token of any kind.
    const jobs = await daemon.pollQueue.getJobs(['completed', 'failed', 'waiting'], 0, 50);
    for (const job of jobs) expect(Object.keys(job.data).sort()).toEqual(['leafUserId', 'provider', 'reason']);
  });

  it('records scripted transitions healthy → expired → healthy once each, and polls on demand', async () => {
    const { sim, daemon } = await setup(30);
    await waitForSweepDone(daemon, 30);
    const id = sim.sim.userIds().find((u) => sim.sim.expectedCategory(u) === 'healthy');
    expect(id).toBeDefined();
    const userId = id ?? '';

    await simEvent(sim, userId, 'expired');
    const poll = await api(daemon, `/api/credentials/${userId}/poll`, { method: 'POST' });
    expect(poll.status).toBe(202);
    await waitFor(
      'the credential to be expired',
      async () => (await daemon.store.get('panorama', userId))?.category === 'cognito_token_expired',
    );
    // Polling the same state again changes nothing.
    await daemon.requestPoll('panorama', userId);
    await waitForSweepDone(daemon, 30);
    await simEvent(sim, userId, 'ok');
    await daemon.requestPoll('panorama', userId);
    await waitFor('the credential to heal', async () => (await daemon.store.get('panorama', userId))?.category === 'healthy');

    const detail = await api<{ category: string; history: Array<{ from: string; to: string; evidence: { excerpt: string } }> }>(
      daemon,
      `/api/credentials/${userId}`,
    );
    expect(detail.body.category).toBe('healthy');
    expect(detail.body.history.map((t) => `${t.from}->${t.to}`)).toEqual([
      'cognito_token_expired->healthy',
      'healthy->cognito_token_expired',
    ]);
    expect(detail.body.history[1]?.evidence.excerpt).toContain('Refresh Token has expired');

    const metrics = await (await fetch(daemon.metricsUrl ?? '')).text();
    expect(metrics).toMatch(/credwatch_credential_transitions_total\{provider="panorama",from="healthy",to="cognito_token_expired"\} 1\n/);
    expect(metrics).toMatch(/credwatch_credential_transitions_total\{provider="panorama",from="cognito_token_expired",to="healthy"\} 1\n/);
  });

  it('marks users that disappear from Leaf as removed within one more sweep', async () => {
    const { sim, daemon } = await setup(12);
    await waitForSweepDone(daemon, 12);
    const gone = sim.sim.userIds()[3] ?? '';
    const res = await fetch(`${sim.url}/_sim/users/${gone}`, { method: 'DELETE' });
    expect(res.ok).toBe(true);
    // The first sweep after the deletion no longer lists the user; the one after that marks it removed.
    await daemon.sweepNow();
    await waitForSweepDone(daemon, 12);
    expect((await daemon.store.get('panorama', gone))?.removedAt).toBeNull();
    await daemon.sweepNow();
    await waitFor('the removal', async () => (await daemon.store.get('panorama', gone))?.removedAt);
    const summary = await api<{ total: number }>(daemon, '/api/summary');
    expect(summary.body.total).toBe(11);
    const detail = await api<{ removedAt: string | null }>(daemon, `/api/credentials/${gone}`);
    expect(detail.body.removedAt).not.toBeNull();
  });

  it('guards the API with the admin token and names bad parameters', async () => {
    const { daemon } = await setup(3);
    const noToken = await fetch(`${daemon.httpUrl}/api/summary`);
    expect(noToken.status).toBe(401);
    const wrongToken = await fetch(`${daemon.httpUrl}/api/summary`, { headers: { authorization: 'Bearer nope' } });
    expect(wrongToken.status).toBe(401);
    const bad = await api<{ parameter: string; message: string }>(daemon, '/api/credentials?category=sad');
    expect(bad.status).toBe(400);
    expect(bad.body.parameter).toBe('category');
    const badLimit = await api<{ parameter: string }>(daemon, '/api/credentials?limit=0');
    expect(badLimit.body.parameter).toBe('limit');
    const unknownParam = await api<{ parameter: string }>(daemon, '/api/credentials?colour=red');
    expect(unknownParam.status).toBe(400);
    const missing = await api(daemon, '/api/credentials/no-such-user');
    expect(missing.status).toBe(404);
    expect((await fetch(`${daemon.httpUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${daemon.httpUrl}/readyz`)).status).toBe(200);
    const basic = await fetch(`${daemon.httpUrl}/api/summary`, {
      headers: { authorization: `Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString('base64')}` },
    });
    expect(basic.status).toBe(200);
  });

  it('warns at start when Redis may evict keys (maxmemory-policy is not noeviction)', async () => {
    const server = await RedisServerProcess.start({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    cleanups.push(() => server.dispose());
    const sim = await startTestSimulator({ users: 1 });
    cleanups.push(() => sim.close());
    const lines: string[] = [];
    const logger = createLogger({
      level: 'warn',
      format: 'json',
      destination: new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    const daemon = await startDaemon({ env: daemonEnv(sim, uniquePrefix('evict'), { REDIS_URL: server.url }), roles: ['http'], logger });
    cleanups.push(() => daemon.close());
    const warning = lines.map((l) => JSON.parse(l) as { msg: string; policy?: string }).find((l) => l.msg.includes('maxmemory-policy'));
    expect(warning?.policy).toBe('allkeys-lru');
  });

  it('fails at start with one clear line when Redis or Leaf auth is not there', async () => {
    const sim = await startTestSimulator({ users: 1 });
    cleanups.push(() => sim.close());
    const prefix = uniquePrefix('startup');
    await expect(startDaemon({ env: daemonEnv(sim, prefix, { REDIS_URL: 'redis://127.0.0.1:1' }), logger: testLogger() })).rejects.toThrow(
      /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/,
    );
    const refused = startDaemon({ env: daemonEnv(sim, prefix, { LEAF_PASSWORD: 'wrong-password-xyz' }), logger: testLogger() });
    await expect(refused).rejects.toMatchObject({ code: 'LEAF_AUTH_FAILED' });
    await expect(refused).rejects.not.toThrow(/wrong-password-xyz/);
  });
});
