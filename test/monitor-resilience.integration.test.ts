import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { daemonEnv, simEvent, spawnDaemon, startTestDaemon, waitFor, waitForSweepDone } from './helpers/daemon.js';
import { RedisServerProcess } from './helpers/redis-server.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from './helpers/redis.js';
import { startTestSimulator } from './helpers/simulator.js';

describe('monitor daemon resilience (real processes, real Redis)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function sim(users: number, latencyMs = 0): Promise<StartedSimulator> {
    const s = await startTestSimulator({ users, seed: 3, latencyMs });
    cleanups.push(() => s.close());
    return s;
  }

  it('loses nothing when a worker process is killed with SIGKILL mid-sweep', async () => {
    const users = 40;
    const s = await sim(users, 150);
    const prefix = uniquePrefix('kill9');
    const redis = new Redis(testRedisUrl());
    cleanups.push(async () => {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    });
    // Scheduler and HTTP in this process; the polling happens in a child process we can kill.
    const env = daemonEnv(s, prefix, { CREDWATCH_JOB_LOCK_DURATION: '2s', CREDWATCH_POLL_CONCURRENCY: '4' });
    const coordinator = await startTestDaemon(s, prefix, { env: { CREDWATCH_JOB_LOCK_DURATION: '2s' }, roles: ['scheduler', 'http'] });
    cleanups.push(() => coordinator.close());
    const first = await spawnDaemon(env, ['--role', 'worker']);
    cleanups.push(async () => void first.child.kill('SIGKILL'));
    await waitFor(
      'a few polls done by the first worker',
      async () => {
        const total = (await coordinator.store.counts()).reduce((n, r) => n + r.count, 0);
        return total >= 8 && total < users;
      },
      30_000,
      20,
    );
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const active = (await coordinator.pollQueue.getJobCounts('active'))['active'] ?? 0;

    const second = await spawnDaemon(env, ['--role', 'worker']);
    cleanups.push(async () => {
      if (second.child.exitCode !== null || second.child.signalCode !== null) return;
      second.child.kill('SIGKILL');
      await new Promise((r) => second.child.once('exit', r));
    });
    try {
      await waitForSweepDone(coordinator, users, 40_000);
    } catch (e) {
      const counts = JSON.stringify(await coordinator.pollQueue.getJobCounts());
      throw new Error(`${(e as Error).message}; poll queue ${counts}; second worker log tail: ${second.output().slice(-2000)}`, {
        cause: e,
      });
    }
    for (const id of s.sim.userIds()) expect((await coordinator.store.get('panorama', id))?.category).toBe(s.sim.expectedCategory(id));
    expect((await coordinator.pollQueue.getJobCounts('failed'))['failed']).toBe(0);
    // Each credential's first verdict was recorded once, whichever worker wrote it.
    const transitions = Number(await redis.get(`${prefix}:seq:transition`));
    const failing = s.sim.userIds().filter((id) => s.sim.expectedCategory(id) !== 'healthy').length;
    expect(transitions).toBe(failing);
    // The kill left jobs in flight, and they were recovered as stalled jobs.
    expect(active).toBeGreaterThan(0);

    // SIGTERM: graceful stop, exit code 0.
    second.child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => second.child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(second.output()).toContain('"msg":"stopped"');
  });

  it('carries on after Redis restarts at run time', async () => {
    const server = await RedisServerProcess.start({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    cleanups.push(() => server.dispose());
    const s = await sim(10);
    const prefix = uniquePrefix('redis-restart');
    const daemon = await startTestDaemon(s, prefix, { env: { REDIS_URL: server.url } });
    cleanups.push(() => daemon.close());
    await waitForSweepDone(daemon, 10);

    await server.stop();
    await waitFor('readiness to report Redis down', async () => (await fetch(`${daemon.httpUrl}/readyz`)).status === 503, 10_000);
    await server.startAgain();
    await waitFor('readiness to recover', async () => (await fetch(`${daemon.httpUrl}/readyz`)).status === 200, 20_000);

    // State survived (persistence on), and the daemon polls again: a change is picked up.
    expect((await daemon.store.counts()).reduce((n, r) => n + r.count, 0)).toBe(10);
    const id = s.sim.userIds().find((u) => s.sim.expectedCategory(u) === 'healthy') ?? '';
    await simEvent(s, id, 'env_mismatch');
    await daemon.requestPoll('panorama', id);
    await waitFor(
      'the change after the restart',
      async () => (await daemon.store.get('panorama', id))?.category === 'environment_mismatch',
      20_000,
    );
    const metrics = await (await fetch(daemon.metricsUrl ?? '')).text();
    expect(Number(metrics.match(/credwatch_redis_errors_total (\d+)/)?.[1])).toBeGreaterThan(0);
  });
});
