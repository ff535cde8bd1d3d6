import { pollAgeSecond, pollAgesKey } from '../src/monitor/poll-ages.js';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failureSignature } from '../src/incidents/failure-signature.js';
import { createIncidentStore, type IncidentRules } from '../src/incidents/incident-store.js';
import { testRedis, testRedisUrl, uniquePrefix } from './helpers/redis.js';

const RULES: IncidentRules = { windowMs: 600_000, minCredentials: 20, minShare: 0.1, settleMs: 0 };
const signature = failureSignature({
  category: 'cognito_token_expired',
  evidence: { eventId: null, statusCode: 400, excerpt: '{"__type":"NotAuthorizedException","message":"Incorrect username or password."}' },
});

let prefix: string;
let redis: Redis;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  prefix = uniquePrefix('incident-store');
  ({ redis, cleanup } = await testRedis(prefix));
});
afterEach(async () => cleanup());

function routeInput(i: number, overrides: Partial<{ kind: 'fail' | 'recover'; transitionId: string; rules: IncidentRules }> = {}) {
  const now = Date.now();
  return {
    credentialKey: `panorama:u${i}`,
    transitionId: overrides.transitionId ?? `t${i}`,
    kind: overrides.kind ?? ('fail' as const),
    signature,
    cause: 'partner password',
    notify: true,
    payload: `0${JSON.stringify({ n: i })}`,
    atMs: now,
    nowMs: now,
    pollAgesKey: pollAgesKey(prefix, 'panorama'),
    rules: overrides.rules ?? RULES,
  };
}

describe('incident store (real Redis, Lua)', () => {
  it('opens one incident when several processes see the same storm at once, and answers a repeated transition the same way', async () => {
    const other = new Redis(testRedisUrl());
    try {
      const stores = [createIncidentStore(redis, prefix), createIncidentStore(other, prefix)];
      // 100 credentials polled this second (the poll-age histogram apply-poll.lua keeps).
      await redis.hincrby(pollAgesKey(prefix, 'panorama'), String(pollAgeSecond(Date.now())), 100);
      const routes = await Promise.all(Array.from({ length: 60 }, (_, i) => (stores[i % 2] ?? stores[0])?.route(routeInput(i))));
      // 20 of 100 polled (20 %) is the threshold: the first 19 are sent, the 20th opens, the rest are held.
      expect(routes.filter((r) => r === 'send')).toHaveLength(19);
      expect(routes.filter((r) => r === 'held:inc_1')).toHaveLength(41);
      const store = stores[0] ?? createIncidentStore(redis, prefix);
      const list = await store.list();
      expect(list.map((i) => i.id)).toEqual(['inc_1']);
      expect(list[0]).toMatchObject({ status: 'open', count: 60, held: 41, signature: signature.text });
      expect(await store.pendingIncidentEvents()).toEqual(['inc_1:opened']);
      // The same transition again (a dispatcher retry after a crash) gets the recorded answer.
      // (Which ones were sent depends on the order the two clients ran in.)
      const sent = routes.indexOf('send');
      const held = routes.indexOf('held:inc_1');
      expect(await store.route(routeInput(sent))).toBe('send');
      expect(await store.route(routeInput(held))).toBe('held:inc_1');
    } finally {
      other.disconnect();
    }
  });

  it('does not count first sightings and not_connected towards an incident', async () => {
    const store = createIncidentStore(redis, prefix);
    const rules = { ...RULES, minCredentials: 3 };
    for (let i = 0; i < 10; i += 1) expect(await store.route({ ...routeInput(i, { rules }), kind: 'other' })).toBe('send');
    expect(await store.list()).toEqual([]);
  });

  it('drops a held notification when its credential recovers, and releases the rest once on resolution', async () => {
    const store = createIncidentStore(redis, prefix);
    const rules = { ...RULES, minCredentials: 3, settleMs: 60_000 };
    for (let i = 0; i < 5; i += 1) expect(await store.route(routeInput(i, { rules }))).toMatch(/^(deferred|held:inc_1)$/);
    // The first two settled before the threshold: the opening moved them into the incident too.
    expect((await store.get('inc_1'))?.held).toBe(5);
    expect(await store.route(routeInput(0, { kind: 'recover', transitionId: 'r0', rules }))).toBe('dropped');
    expect((await store.get('inc_1'))?.held).toBe(4);
    // A credential the app already knew to be failing gets its recovery even when the held failure is dropped.
    expect(await store.route({ ...routeInput(9, { rules }), payload: '1{}' })).toBe('held:inc_1');
    expect(await store.route(routeInput(9, { kind: 'recover', transitionId: 'r9', rules }))).toBe('send');
    expect((await store.get('inc_1'))?.held).toBe(4);
    expect(await store.takeDue(Date.now() + 3_600_000, 10_000)).toEqual([]);

    const now = Date.now();
    expect(await store.resolve('inc_1', 'hold_limit', now, now)).toBe(4);
    expect(await store.resolve('inc_1', 'hold_limit', now, now)).toBe(-1);
    const due = await store.takeDue(now, 10_000);
    expect(due.map((d) => d.credentialKey).sort()).toEqual(['panorama:u1', 'panorama:u2', 'panorama:u3', 'panorama:u4']);
    // Leased: not handed out again until the lease ends, then again (the sender may have died).
    expect(await store.takeDue(now + 1000, 10_000)).toEqual([]);
    const again = await store.takeDue(now + 11_000, 10_000);
    expect(again).toHaveLength(4);
    for (const d of again) await store.finish(d.credentialKey, d.transitionId);
    expect(await store.takeDue(now + 60_000, 10_000)).toEqual([]);
    expect(await store.gauges()).toMatchObject({ open: 0, held: 0, settling: 0 });
  });

  it("discards an incident's held notifications by hand: nothing is due afterwards", async () => {
    const store = createIncidentStore(redis, prefix);
    const rules = { ...RULES, minCredentials: 3 };
    for (let i = 0; i < 6; i += 1) await store.route(routeInput(i, { rules }));
    expect((await store.get('inc_1'))?.held).toBe(4);
    const now = Date.now();
    expect(await store.resolve('inc_1', 'discarded', now, now, true)).toBe(4);
    expect(await store.takeDue(now + 3_600_000, 10_000)).toEqual([]);
    expect(await store.get('inc_1')).toMatchObject({ status: 'resolved', resolution: 'discarded', held: 0 });
    expect((await store.gauges()).held).toBe(0);
    expect((await store.pendingIncidentEvents()).sort()).toEqual(['inc_1:opened', 'inc_1:resolved']);
  });
});
