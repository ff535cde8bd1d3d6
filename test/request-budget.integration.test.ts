import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpTransport } from '../src/leaf/http-transport.js';
import { RedisRequestBudget, type BudgetStats } from '../src/leaf/request-budget.js';
import type { SimStats } from '../src/sim/types.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from './helpers/redis.js';
import { simToken, startTestSimulator } from './helpers/simulator.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function redis(): Redis {
  const r = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  cleanups.push(() => r.disconnect());
  return r;
}

const PROCESSES = 3;
const CALLERS = 8;
const WARM_UP_MS = 1000;
const MEASURE_MS = 8000;

function served(stats: SimStats): number {
  return Object.values(stats.requests).reduce((a, b) => a + b, 0) - stats.rateLimited;
}

/**
 * Three budgets on three Redis connections (as three processes would), eight callers each sending to the
 * simulator as fast as the shared budget allows; the simulator limits to the same rps in a sliding 1 s window.
 */
async function runAgainstSimulator(rps: number) {
  const prefix = uniquePrefix(`request-budget-${rps}`);
  const admin = redis();
  cleanups.push(async () => void (await deleteKeys(admin, prefix)));
  const sim = await startTestSimulator({ users: 3, seed: 5 });
  cleanups.push(() => sim.close());
  const token = await simToken(sim.url);
  const url = `${sim.url}/services/usermanagement/api/users/${sim.sim.userIds()[0] ?? ''}/panorama-credentials`;
  sim.sim.setFaults({ rateLimitRps: rps });
  sim.sim.resetStats();

  const budgets = Array.from(
    { length: PROCESSES },
    () => new RedisRequestBudget({ redis: redis(), key: `${prefix}:budget`, rps, usageBucketMs: 1000 }),
  );
  const transport = new HttpTransport({ timeoutMs: 10_000, userAgent: 'credwatch-test' });
  cleanups.push(() => transport.close());
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  let stop = false;
  let statuses429 = 0;
  const at429: number[] = [];
  const started = performance.now();
  const callers = budgets.flatMap((budget) =>
    Array.from({ length: CALLERS }, async () => {
      while (!stop) {
        const slot = await budget.acquire();
        // As the Leaf client does: a request whose headers reached the socket late (or whose process paused
        // right after) tells the budget, which moves the later slots.
        const response = await transport.send(
          { method: 'GET', url, headers: { authorization: `Bearer ${token}` } },
          { slotMs: slot, onSent: (latenessMs) => void budget.sentLate(latenessMs) },
        );
        if (response.statusCode === 429) {
          statuses429 += 1;
          at429.push(Math.round(performance.now() - started));
        }
      }
    }),
  );
  const lateWakes = () => budgets.reduce((a, b) => a + b.stats().lateWakes, 0);
  const at = (ms: number) =>
    new Promise<{ t: number; stats: SimStats; late: number }>((r) =>
      setTimeout(() => r({ t: performance.now(), stats: sim.sim.stats(), late: lateWakes() }), ms),
    );
  const from = await at(WARM_UP_MS);
  const to = await at(MEASURE_MS);
  stop = true;
  await Promise.all(callers);
  const total = sim.sim.stats();
  // Let the last usage bucket (1 s) end and pass its grace second.
  await new Promise((r) => setTimeout(r, 2500));
  const usage = await budgets[0]!.usage(30_000);

  const seconds = (to.t - from.t) / 1000;
  const stats = budgets.map((b) => b.stats());
  const sum = (k: keyof BudgetStats) => stats.reduce((a, s) => a + s[k], 0);
  const figures = {
    rps,
    utilization: Number((served(to.stats) - served(from.stats)) / (rps * seconds)).toFixed(4),
    rateLimited: total.rateLimited,
    statuses429,
    at429,
    simServed: served(total),
    usageGranted: usage.granted,
    granted: sum('granted'),
    lateWakes: sum('lateWakes'),
    lateWakesMeasured: to.late - from.late,
    lostToLateWakes: ((to.late - from.late) / (rps * seconds)).toFixed(4),
    lateWakeRate: (sum('lateWakes') / Math.max(1, sum('granted') + sum('lateWakes'))).toFixed(4),
    roundTrips: sum('roundTrips'),
    loopDelayP99Ms: (lag.percentile(99) / 1e6).toFixed(1),
    loopDelayMaxMs: (lag.max / 1e6).toFixed(1),
  };
  lag.disable();
  process.stderr.write(`request budget figures: ${JSON.stringify(figures)}\n`);
  return {
    ...figures,
    utilization: Number(figures.utilization),
    lostToLateWakes: Number(figures.lostToLateWakes),
    lateWakeRate: Number(figures.lateWakeRate),
  };
}

describe('Redis request budget against the simulator (3 processes × 8 callers)', () => {
  for (const rps of [20, 50]) {
    it(`never overruns ${rps} rps in the simulator's 1 s window, keeps it busy, and usage() agrees with it`, async () => {
      const f = await runAgainstSimulator(rps);
      // The bound: slots never exceed the rate. A systematic overrun (the cold start before its widening, a
      // spacing or horizon bug) draws a 429 in most runs, at the same moment. What remains is jitter beyond the
      // ~10 ms slack on a shared machine (an event-loop stall between a caller's wake check and the simulator
      // stamping its request; both run in this process): 1 × 429 in 2 of 16 runs at 20 rps, none in 16 at 50
      // rps when measured alone. At most 2 keeps the test from flaking while the suite loads the machine.
      expect(f.rateLimited).toBeLessThanOrEqual(2);
      expect(f.statuses429).toBe(f.rateLimited);
      // Utilisation is a benchmark figure (0.975–0.994 alone, see docs/leaf-client.md; the freshness bench in
      // docs/performance.md), not a test threshold: under the full suite it was seen at 0.93. The test only
      // checks that the budget keeps Leaf busy under load (at least 0.85) and that late wakes stay rare.
      expect(f.utilization + f.lostToLateWakes).toBeGreaterThanOrEqual(0.85);
      expect(f.lateWakeRate).toBeLessThanOrEqual(0.1);
      // Every slot granted was sent, and every request reached the simulator (a 429 is an arrival too).
      expect(f.granted).toBe(f.simServed + f.rateLimited);
      expect(Math.abs(f.usageGranted - f.simServed)).toBeLessThanOrEqual(Math.ceil(0.03 * f.simServed));
    });
  }
});
