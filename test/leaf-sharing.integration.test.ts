import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { LeafClient } from '../src/leaf/leaf-client.js';
import { MemoryRequestBudget, RedisRequestBudget } from '../src/leaf/request-budget.js';
import { lateSendShiftMs, slotPolicy } from '../src/leaf/budget-slots.js';
import { RedisTokenStore } from '../src/leaf/token-store.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from './helpers/redis.js';
import { TEST_SIM_ACCOUNT, startTestSimulator } from './helpers/simulator.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function redis(): Redis {
  const r = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  cleanups.push(() => r.disconnect());
  return r;
}

function prefixed(name: string): string {
  const prefix = uniquePrefix(name);
  const admin = redis();
  cleanups.push(async () => {
    await deleteKeys(admin, prefix);
  });
  return prefix;
}

describe('Redis request budget', () => {
  it('pauseFor in one process makes another wait', async () => {
    const key = `${prefixed('budget-pause')}:budget`;
    const a = new RedisRequestBudget({ redis: redis(), key, rps: 1000 });
    const b = new RedisRequestBudget({ redis: redis(), key, rps: 1000 });
    await a.acquire();
    await a.pauseFor(600);
    const started = Date.now();
    await b.acquire();
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  });

  it('a late send in one process moves the slots not yet reserved for every process, by the shortfall', async () => {
    const key = `${prefixed('budget-late')}:budget`;
    const admin = redis();
    const a = new RedisRequestBudget({ redis: redis(), key, rps: 50 });
    const b = new RedisRequestBudget({ redis: redis(), key, rps: 50 });
    const slot = await a.acquire();
    const before = Number(await admin.get(key));
    expect(await a.sentLate(4)).toBe(false);
    expect(Number(await admin.get(key))).toBe(before);
    expect(await a.sentLate(30)).toBe(true);
    const shift = lateSendShiftMs(slotPolicy(50), 50, 30);
    // The script moves the next free slot by the shift, from itself or from Redis's clock if that passed it.
    const moved = Number(await admin.get(key));
    expect(moved).toBeGreaterThanOrEqual(before + shift - 0.001);
    expect(moved).toBeLessThan(Math.max(before, Date.now()) + shift + 5);
    // The other process's next slot comes after the moved one; the late process's own slot was not taken back.
    expect(await b.acquire()).toBeGreaterThanOrEqual(slot + shift);
    expect(a.stats()).toMatchObject({ granted: 1, lateSends: 1 });
  });

  it('a late slot reserved before its process last shifted owes only the rest; one reserved after owes it all', async () => {
    const key = `${prefixed('budget-late-again')}:budget`;
    const admin = redis();
    const a = new RedisRequestBudget({ redis: redis(), key, rps: 50 });
    const policy = slotPolicy(50);
    await a.acquire();
    // Large latenesses keep the test's reading of "before" and "after" the shift clear of slow round trips
    // on a loaded machine (the second report must come within ~70 ms of the first slot).
    expect(await a.sentLate(60)).toBe(true);
    const afterFirst = Number(await admin.get(key));
    // A second late report for a slot from before that shift, needing less than it moved: nothing more.
    expect(await a.sentLate(50)).toBe(true);
    expect(Number(await admin.get(key))).toBe(afterFirst);
    // A slot reserved after the shift moved together with the request 50 slots on: the next shift is owed in full.
    await a.acquire();
    const beforeSecond = Number(await admin.get(key));
    expect(await a.sentLate(40)).toBe(true);
    expect(Number(await admin.get(key))).toBeGreaterThanOrEqual(beforeSecond + lateSendShiftMs(policy, 50, 40) - 0.001);
    expect(a.stats().lateSends).toBe(3);
  });

  it('grants at most rps per second to many concurrent acquirers', async () => {
    const key = `${prefixed('budget-count')}:budget`;
    const budgets = Array.from({ length: 5 }, () => new RedisRequestBudget({ redis: redis(), key, rps: 50 }));
    let granted = 0;
    const started = Date.now();
    await Promise.all(
      budgets.map(async (budget) => {
        while (Date.now() - started < 1500) {
          await budget.acquire();
          granted += 1;
        }
      }),
    );
    const elapsedS = (Date.now() - started) / 1000;
    // A grant can land just after the loop's deadline check: one extra per acquirer at most.
    expect(granted).toBeLessThanOrEqual(Math.floor(50 * elapsedS) + 1 + budgets.length);
  });

  it('a holder that wakes late drops its slot and reserves again, counted in credwatch_leaf_budget_slots_dropped_total', async () => {
    const key = `${prefixed('budget-drops')}:budget`;
    const budget = new RedisRequestBudget({ redis: redis(), key, rps: 50 });
    await budget.acquire();
    // Three callers hold slots 20, 40 and 60 ms ahead; a 150 ms block of the event loop wakes them all late.
    const held = [budget.acquire(), budget.acquire(), budget.acquire()];
    await new Promise((r) => setTimeout(r, 5));
    const until = performance.now() + 150;
    while (performance.now() < until);
    await Promise.all(held);
    expect(budget.stats().lateWakes).toBeGreaterThanOrEqual(1);
    expect(budget.stats().granted).toBe(4);

    const metrics = createMetrics(new Registry(), { providers: ['panorama'], version: 'test', defaultMetrics: false });
    const none = async () => [];
    metrics.setScrapeSources({
      credentialCounts: none,
      oldestPollAges: none,
      lastSweepSuccess: async () => undefined,
      queueCounts: none,
      deadLetters: none,
      budgetStats: () => budget.stats(),
    });
    const dropped = async (reason: string) =>
      (await metrics.leafBudgetDrops.get()).values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
    expect(await dropped('late_wake')).toBe(budget.stats().lateWakes);
    expect(await dropped('paused')).toBe(0);
    // A second scrape adds nothing new.
    expect(await dropped('late_wake')).toBe(budget.stats().lateWakes);
  });
});

describe('Redis token store', () => {
  it('stores the token with a TTL equal to its useful life and takes over a lock whose holder vanished', async () => {
    const key = `${prefixed('token-ttl')}:leaf-token`;
    const admin = redis();
    const store = new RedisTokenStore({ redis: redis(), key, lockTtlMs: 400 });
    const now = Math.floor(Date.now() / 1000);
    const token = `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ iat: now, exp: now + 100 })).toString('base64url')}.c2lnbmF0dXJl`;
    await admin.set(`${key}:lock`, 'a-worker-that-died', 'PX', 400);
    let logins = 0;
    const started = Date.now();
    expect(await store.obtain(async () => (logins++, token))).toBe(token);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(logins).toBe(1);
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(85_000);
    expect(ttl).toBeLessThanOrEqual(90_000);
    expect(await admin.get(key)).toBe(token);
  });

  it('renews once for many clients that all see a 401 for the same token', async () => {
    let offsetMs = 0;
    const s = await startTestSimulator({ users: 5, tokenTtlSeconds: 3600, now: () => Date.now() + offsetMs });
    cleanups.push(() => s.close());
    const key = `${prefixed('token-401')}:leaf-token`;
    const clients = Array.from({ length: 5 }, () => {
      const c = new LeafClient({
        apiUrl: s.url,
        username: TEST_SIM_ACCOUNT.username,
        password: TEST_SIM_ACCOUNT.password,
        requestTimeoutMs: 5000,
        maxRetries: 0,
        budget: new MemoryRequestBudget(1000),
        tokenStore: new RedisTokenStore({ redis: redis(), key }),
      });
      cleanups.push(() => c.close());
      return c;
    });
    const id = s.sim.userIds()[0] ?? '';
    await Promise.all(clients.map((c) => c.getCredential('panorama', id)));
    expect(s.sim.stats().requests['authenticate']).toBe(1);
    offsetMs = 2 * 3600 * 1000; // every cached copy is now refused by Leaf
    await Promise.all(clients.map((c) => c.getCredential('panorama', id)));
    expect(s.sim.stats().requests['authenticate']).toBe(2);
  });
});
