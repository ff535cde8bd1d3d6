import { afterEach, describe, expect, it } from 'vitest';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { simToken, startTestSimulator } from './helpers/simulator.js';
import { StallWatch } from '../src/sim/faults.js';

const USERS_PATH = '/services/usermanagement/api/users';
const started: StartedSimulator[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
});

async function sim(options: Parameters<typeof startTestSimulator>[0] = {}): Promise<StartedSimulator> {
  const s = await startTestSimulator({ users: 10, ...options });
  started.push(s);
  return s;
}

async function setFaults(s: StartedSimulator, faults: Record<string, number>): Promise<void> {
  const response = await fetch(`${s.url}/_sim/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  expect(response.status).toBe(200);
}

async function stats(s: StartedSimulator): Promise<Record<string, unknown>> {
  return (await (await fetch(`${s.url}/_sim/stats`)).json()) as Record<string, unknown>;
}

describe('faults on Leaf routes', { timeout: 60_000 }, () => {
  it('answers 429 with Retry-After above rateLimitRps in a 1 s sliding window', async () => {
    let now = Date.parse('2026-11-29T10:00:00Z');
    const s = await sim({ now: () => now });
    const token = await simToken(s.url);
    now += 1001; // the login itself counted in the window
    await setFaults(s, { rateLimitRps: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      const r = await fetch(`${s.url}${USERS_PATH}`, { headers: { authorization: `Bearer ${token}` } });
      statuses.push(r.status);
      if (r.status === 429) {
        expect(r.headers.get('retry-after')).toBe('1');
        expect(await r.json()).toMatchObject({ status: 429, errorKey: 'ratelimited' });
      } else await r.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    now += 600;
    expect((await fetch(`${s.url}${USERS_PATH}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(429);
    now += 401;
    expect((await fetch(`${s.url}${USERS_PATH}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const st = await stats(s);
    expect(st['rateLimited']).toBe(4);
    // Each 429 is kept with its time, route and the age of the window's oldest accepted request.
    const t0 = Date.parse('2026-11-29T10:00:00Z') + 1001;
    expect(st['rateLimitedRecent']).toEqual([
      { atMs: t0, route: 'list_users', oldestAgeMs: 0, oldestAfterStallMs: null },
      { atMs: t0, route: 'list_users', oldestAgeMs: 0, oldestAfterStallMs: null },
      { atMs: t0, route: 'list_users', oldestAgeMs: 0, oldestAfterStallMs: null },
      { atMs: t0 + 600, route: 'list_users', oldestAgeMs: 600, oldestAfterStallMs: null },
    ]);
    expect(st['currentRps']).toBe(2); // received during the last second: the 429 at +600 ms and the 200 at +1001 ms
    // The control API is never limited.
    for (let i = 0; i < 10; i += 1) expect((await fetch(`${s.url}/_sim/faults`)).status).toBe(200);
  });

  it('does not count rejected requests against the window', async () => {
    let now = 5_000_000;
    const s = await sim({ now: () => now });
    const token = await simToken(s.url);
    now += 1001;
    await setFaults(s, { rateLimitRps: 1 });
    const users = () => fetch(`${s.url}${USERS_PATH}`, { headers: { authorization: `Bearer ${token}` } });
    expect((await users()).status).toBe(200);
    now += 500;
    expect((await users()).status).toBe(429);
    now += 501;
    expect((await users()).status).toBe(200);
  });

  it('accepts only whole request rates', async () => {
    const s = await sim();
    const response = await fetch(`${s.url}/_sim/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"rateLimitRps": 0.5}',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/rateLimitRps/);
  });

  it('injects 5xx answers at errorRate, with Leaf error bodies, never on /_sim', async () => {
    const s = await sim();
    const token = await simToken(s.url);
    await setFaults(s, { errorRate: 0.5 });
    let errors = 0;
    const total = 200;
    for (let i = 0; i < total; i += 1) {
      const r = await fetch(`${s.url}${USERS_PATH}`, { headers: { authorization: `Bearer ${token}` } });
      if (r.status >= 500) {
        errors += 1;
        expect([500, 502, 503]).toContain(r.status);
        if (r.status === 503) expect(r.headers.get('retry-after')).toBe('1');
        expect(await r.json()).toMatchObject({ status: r.status });
      } else {
        expect(r.status).toBe(200);
        await r.arrayBuffer();
      }
    }
    expect(errors / total).toBeGreaterThan(0.35);
    expect(errors / total).toBeLessThan(0.65);
    expect((await stats(s))['injectedErrors']).toBe(errors);
    await setFaults(s, { errorRate: 1 });
    expect((await fetch(`${s.url}/_sim/users`)).status).toBe(200);
    expect((await fetch(`${s.url}${USERS_PATH}`, { headers: { authorization: `Bearer ${token}` } })).status).toBeGreaterThanOrEqual(500);
    // Faults cover the login route too.
    await expect(simToken(s.url)).rejects.toThrow(/answered 5\d\d/);
  });

  it('replaces a share of successful JSON bodies with malformed ones (truncated JSON, HTML, empty)', async () => {
    const s = await sim();
    const token = await simToken(s.url);
    await setFaults(s, { malformedRate: 1 });
    const kinds = new Set<string>();
    for (let i = 0; i < 30; i += 1) {
      const r = await fetch(`${s.url}${USERS_PATH}`, { headers: { authorization: `Bearer ${token}` } });
      expect(r.status).toBe(200);
      const text = await r.text();
      expect(() => JSON.parse(text) as unknown).toThrow();
      kinds.add(text === '' ? 'empty' : text.startsWith('<') ? 'html' : 'truncated');
    }
    expect([...kinds].sort()).toEqual(['empty', 'html', 'truncated']);
    // Errors stay well-formed: only successful answers are corrupted.
    const denied = await fetch(`${s.url}${USERS_PATH}`);
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ status: 401 });

    await setFaults(s, { malformedRate: 0.3 });
    let malformed = 0;
    for (let i = 0; i < 100; i += 1) {
      const text = await (await fetch(`${s.url}${USERS_PATH}`, { headers: { authorization: `Bearer ${token}` } })).text();
      try {
        JSON.parse(text);
      } catch {
        malformed += 1;
      }
    }
    expect(malformed).toBeGreaterThan(15);
    expect(malformed).toBeLessThan(45);
    expect((await stats(s))['malformedBodies']).toBe(30 + malformed);
  });

  it('adds latencyMs to Leaf answers only', async () => {
    const s = await sim({ latencyMs: 250 });
    const t0 = performance.now();
    const r = await fetch(`${s.url}${USERS_PATH}`);
    expect(r.status).toBe(401);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(240);
    expect((await (await fetch(`${s.url}/_sim/faults`)).json()) as unknown).toMatchObject({ latencyMs: 250 });
  });
});

describe("StallWatch (the simulator's own event-loop stalls)", () => {
  it('records a stall of the event loop and names it for a request stamped right after it', async () => {
    const watch = new StallWatch();
    watch.start(Date.now);
    try {
      await new Promise((r) => setTimeout(r, 10));
      const blockedUntil = Date.now() + 30;
      while (Date.now() < blockedUntil) {
        // The simulator's loop is busy (a long handler, garbage collection): its timer fires late.
      }
      await new Promise((r) => setTimeout(r, 1));
      const stall = watch.recent().at(-1);
      expect(stall?.lengthMs).toBeGreaterThanOrEqual(25);
      expect(watch.endingJustBefore(stall?.endMs ?? 0)).toBe(stall?.lengthMs);
      expect(watch.endingJustBefore((stall?.endMs ?? 0) + 50)).toBeNull();
    } finally {
      watch.stop();
    }
  });
});
