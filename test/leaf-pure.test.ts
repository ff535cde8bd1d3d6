import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeafError, SafeCause, isLeafError } from '../src/leaf/errors.js';
import { normalizeEvents } from '../src/classify/normalize-event.js';
import { normalizeEventsInChunks, sortInSlices } from '../src/leaf/events.js';
import { parseJsonArrayInChunks } from '../src/leaf/json-array.js';
import { MemoryRequestBudget, gcraStep } from '../src/leaf/request-budget.js';
import { backoffDelay } from '../src/leaf/backoff-delay.js';
import { parseRetryAfter } from '../src/core/retry-after.js';
import { nextLink, parseCredential, parseTotalCount, parseUsersPage } from '../src/leaf/schemas.js';
import { MemoryTokenStore, decodeJwtTimes, tokenUseUntil } from '../src/leaf/token-store.js';

const jwt = (payload: Record<string, unknown>): string =>
  `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2lnbmF0dXJlLXNpZ25hdHVyZQ`;

describe('backoffDelay', () => {
  it('stays within [0, min(max, base * 2^attempt)) for any attempt and random value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const d = backoffDelay(attempt, { baseMs: 100, maxMs: 5000, random: () => r });
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(Math.min(5000, 100 * 2 ** attempt));
      }),
    );
  });

  it('doubles its cap per attempt (full jitter: random 0.5 gives half the cap)', () => {
    const half = (a: number) => backoffDelay(a, { baseMs: 100, maxMs: 10_000, random: () => 0.5 });
    expect([0, 1, 2, 3, 10].map(half)).toEqual([50, 100, 200, 400, 5000]);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-29T12:00:00Z');
  it('reads delta-seconds, HTTP dates, and nothing else', () => {
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter('0.5', now)).toBe(500);
    expect(parseRetryAfter('Sun, 29 Nov 2026 12:00:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(['7'], now)).toBe(7000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('99999999', now)).toBe(86_400_000);
  });
});

describe('paging headers', () => {
  it('finds rel="next" among several links, in any parameter order', () => {
    const link = '<https://x/users?page=3&size=100>; rel="next", <https://x/users?page=9&size=100>; rel="last"';
    expect(nextLink(link)).toBe('https://x/users?page=3&size=100');
    expect(nextLink('<https://x/u?page=9>; rel="last", <https://x/u?page=1>; title="n"; rel=next')).toBe('https://x/u?page=1');
    expect(nextLink('<https://x/u?page=9>; rel="last"')).toBeUndefined();
    expect(nextLink('<https://x/u?page=2>; rel="prev next"')).toBe('https://x/u?page=2');
    expect(nextLink(undefined)).toBeUndefined();
  });

  it('reads X-Total-Count only when it is a whole number', () => {
    expect(parseTotalCount('250')).toBe(250);
    expect(parseTotalCount(['12'])).toBe(12);
    expect(parseTotalCount('-1')).toBeUndefined();
    expect(parseTotalCount('lots')).toBeUndefined();
    expect(parseTotalCount(undefined)).toBeUndefined();
  });
});

describe('schemas', () => {
  it('keeps only id, name, email and externalId of a user; provider credential objects are dropped', () => {
    const page = parseUsersPage([
      { id: 'u1', name: 'A', email: 'a@x', externalId: 'e', johnDeereCredentials: { accessToken: 'secret-at' }, extra: 1 },
      { id: 42, name: null },
      { name: 'no id' },
      'not a user',
    ]);
    expect(page).toEqual({
      users: [
        { id: 'u1', name: 'A', email: 'a@x', externalId: 'e' },
        { id: '42', name: undefined, email: undefined, externalId: undefined },
      ],
      skipped: 2,
    });
    expect(JSON.stringify(page)).not.toContain('secret-at');
    expect(parseUsersPage({ users: [] })).toBeUndefined();
  });

  it('drops accessToken, refreshToken and password from a credential and tolerates unknown values', () => {
    const credential = parseCredential({
      id: 'c1',
      status: 'SOMETHING_NEW',
      createdTime: '2026-01-01T00:00:00Z',
      clientId: 'client',
      username: 'grower@example.com',
      password: 'hunter2',
      organizationCode: 'ORG1',
      clientEnvironment: 'production',
      accessToken: 'at-value',
      refreshToken: 'rt-value',
    });
    expect(credential).toEqual({
      id: 'c1',
      status: 'SOMETHING_NEW',
      clientEnvironment: 'PRODUCTION',
      clientId: 'client',
      organizationCode: 'ORG1',
      createdTime: '2026-01-01T00:00:00Z',
    });
    expect(JSON.stringify(credential)).not.toMatch(/at-value|rt-value|hunter2/);
    expect(parseCredential({ id: 'c2', clientEnvironment: 'MARS' })?.clientEnvironment).toBeUndefined();
    expect(parseCredential([])).toBeUndefined();
    expect(parseCredential({ status: 'OK' })).toBeUndefined();
  });
});

describe('events', () => {
  it('sorts oldest first and drops repeated ids across chunk boundaries', async () => {
    const raw = [
      { id: 'c', createdDate: '2026-11-03T00:00:00Z', statusCode: 200 },
      { id: 'a', createdDate: '2026-11-01T00:00:00Z', statusCode: 400 },
      { id: 'b', createdDate: '2026-11-02T00:00:00.000Z', statusCode: '500' },
      { id: 'a', createdDate: '2026-11-01T00:00:00Z', statusCode: 400 },
      { createdDate: 'garbage', statusCode: 200 },
    ];
    const events = await normalizeEventsInChunks(raw, 2);
    expect(events.map((e) => (e.id.startsWith('synthetic-') ? 'synthetic' : e.id))).toEqual(['synthetic', 'a', 'b', 'c']);
    expect(events.map((e) => e.statusCode)).toEqual([200, 400, 500, 200]);
  });

  it("gives exactly what the classifier's normalizeEvents gives, for any input and chunk size", async () => {
    const event = fc.record(
      {
        id: fc.oneof(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 0, max: 5 })),
        createdDate: fc.oneof(
          fc.constantFrom(
            '2026-11-02T10:15:03.123456Z',
            '2026-11-02T10:15:03.123457Z',
            '2026-11-02T10:15:03Z',
            '2026-11-02T10:15:03.123',
            'nope',
          ),
          fc.date({ min: new Date('2026-01-01'), max: new Date('2026-12-31'), noInvalidDate: true }).map((d) => d.toISOString()),
        ),
        statusCode: fc.oneof(fc.constantFrom(200, 401, '503', 'x')),
        body: fc.string(),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(event, fc.anything()), { maxLength: 40 }), fc.integer({ min: 1, max: 7 }), async (raw, chunk) => {
        expect(await normalizeEventsInChunks(raw, chunk)).toEqual(normalizeEvents(raw));
      }),
    );
  });
});

describe('request budget (memory)', () => {
  it('GCRA with burst 1 spaces grants at least 1/rps apart', () => {
    let tat: number | undefined;
    const granted: number[] = [];
    for (let now = 0; now < 1000; now += 7) {
      const step = gcraStep(tat, now, 100, 1);
      tat = step.tat;
      if (step.waitMs === 0) granted.push(now);
    }
    for (let i = 1; i < granted.length; i += 1) expect((granted[i] ?? 0) - (granted[i - 1] ?? 0)).toBeGreaterThanOrEqual(100);
    expect(granted.length).toBeLessThanOrEqual(10);
  });

  it('pauseFor delays the next grant by at least the pause', async () => {
    let clock = 1_000;
    const budget = new MemoryRequestBudget(1000, 1, () => clock);
    await budget.acquire();
    await budget.pauseFor(5_000);
    expect(gcraStep(6_000, clock, 1, 1).waitMs).toBe(5_000);
    const pending = budget.acquire(AbortSignal.timeout(20));
    await expect(pending).rejects.toThrow();
    clock = 6_000;
    await budget.acquire();
  });

  it('rejects a non-positive rate with a clear error', () => {
    expect(() => new MemoryRequestBudget(0)).toThrow(/rps must be above 0/);
  });
});

describe('token store (memory)', () => {
  it('reads exp and iat without verifying, and renews a tenth of the life early (at most 5 min)', () => {
    const token = jwt({ sub: 'x', iat: 1000, exp: 1100 });
    expect(decodeJwtTimes(token)).toEqual({ expMs: 1_100_000, iatMs: 1_000_000 });
    expect(tokenUseUntil(token, 1_000_000)).toBe(1_090_000);
    const month = jwt({ iat: 0, exp: 30 * 86_400 });
    expect(tokenUseUntil(month, 0)).toBe(30 * 86_400_000 - 300_000);
    expect(decodeJwtTimes('opaque-token')).toBeUndefined();
    expect(tokenUseUntil('opaque-token', 5)).toBe(5 + 3_600_000);
    // Expired by our clock (skew): kept briefly instead of a login per request.
    expect(tokenUseUntil(jwt({ iat: 0, exp: 3600 }), 4_000_000)).toBe(4_060_000);
    expect(tokenUseUntil(jwt({ exp: 1 }), 4_000_000)).toBe(4_001_000);
  });

  it('logs in once for concurrent callers and again only for the rejected token', async () => {
    let logins = 0;
    const store = new MemoryTokenStore(() => 0);
    const login = async () => {
      logins += 1;
      await new Promise((r) => setTimeout(r, 10));
      return jwt({ n: logins, iat: 0, exp: 3600 });
    };
    const tokens = await Promise.all(Array.from({ length: 20 }, () => store.obtain(login)));
    expect(new Set(tokens).size).toBe(1);
    expect(logins).toBe(1);
    const first = tokens[0] ?? '';
    const renewed = await Promise.all(Array.from({ length: 5 }, () => store.obtain(login, first)));
    expect(logins).toBe(2);
    expect(new Set(renewed).size).toBe(1);
    expect(renewed[0]).not.toBe(first);
    // A caller holding the old rejected token gets the already renewed one, no third login.
    await store.obtain(login, first);
    expect(logins).toBe(2);
  });

  it('logs in again once the cached token is past its use-until time', async () => {
    let clock = 0;
    let logins = 0;
    const store = new MemoryTokenStore(() => clock);
    const login = async () => jwt({ n: ++logins, iat: 0, exp: 100 });
    await store.obtain(login);
    clock = 89_000;
    await store.obtain(login);
    expect(logins).toBe(1);
    clock = 91_000;
    await store.obtain(login);
    expect(logins).toBe(2);
  });
});

describe('LeafError', () => {
  it('serialises only safe fields and redacts what it is given', () => {
    const token = jwt({ exp: 1 });
    const error = new LeafError('LEAF_BAD_RESPONSE', `bad body ${token}`, {
      operation: 'get_events',
      status: 200,
      excerpt: `{"refreshToken": "rt-secret-value", "x": "Bearer ${token}"}`,
      cause: SafeCause.from(
        Object.assign(new Error(`socket hang up password=hunter2`), { code: 'ECONNRESET', options: { headers: { authorization: token } } }),
      ),
    });
    const json = JSON.stringify(error);
    for (const secret of [token, 'rt-secret-value', 'hunter2']) {
      expect(json).not.toContain(secret);
      expect(error.message).not.toContain(secret);
      expect(String(error.cause)).not.toContain(secret);
    }
    expect(JSON.parse(json)).toMatchObject({ code: 'LEAF_BAD_RESPONSE', operation: 'get_events', status: 200 });
    expect(isLeafError(error, 'LEAF_BAD_RESPONSE')).toBe(true);
    expect(isLeafError(error, 'LEAF_NOT_FOUND')).toBe(false);
    expect((error.cause as SafeCause).code).toBe('ECONNRESET');
  });
});

describe('parseJsonArrayInChunks', () => {
  it('equals JSON.parse for any JSON array and any slice size, and answers undefined for other shapes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.integer({ min: 1, max: 40 }), async (value, chunk) => {
        const text = JSON.stringify(value, null, chunk % 3 === 0 ? 2 : undefined);
        const parsed = await parseJsonArrayInChunks(text, chunk);
        if (Array.isArray(value)) expect(parsed).toEqual(JSON.parse(text));
        else expect(parsed).toBeUndefined();
      }),
    );
  });

  it('throws exactly when JSON.parse throws, for cut or altered arrays', async () => {
    const valid = JSON.stringify([{ a: '[",\\\\"]', b: [1, { c: null }] }, 'x]', 2, [], {}]);
    const variants = fc.oneof(
      fc.integer({ min: 0, max: valid.length }).map((n) => valid.slice(0, n)),
      fc
        .tuple(fc.integer({ min: 0, max: valid.length }), fc.constantFrom(',', ']', '}', '"', '[', 'x', ' '))
        .map(([n, c]) => valid.slice(0, n) + c + valid.slice(n)),
    );
    await fc.assert(
      fc.asyncProperty(variants, fc.integer({ min: 1, max: 20 }), async (text, chunk) => {
        let expected: unknown;
        try {
          expected = JSON.parse(text);
        } catch {
          await expect(parseJsonArrayInChunks(text, chunk)).rejects.toThrow(SyntaxError);
          return;
        }
        expect(await parseJsonArrayInChunks(text, chunk)).toEqual(Array.isArray(expected) ? expected : undefined);
      }),
      { numRuns: 500 },
    );
    await expect(parseJsonArrayInChunks('[1,2,]', 1)).rejects.toThrow(SyntaxError);
    await expect(parseJsonArrayInChunks('[1,2] x', 1)).rejects.toThrow(SyntaxError);
  });
});

describe('sortInSlices', () => {
  it('gives the same order as a stable Array.prototype.sort, for any slice size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 300 }),
        fc.integer({ min: 1, max: 17 }),
        async (keys, slice) => {
          const items = keys.map((key, index) => ({ key, index }));
          const byKey = (a: { key: number }, b: { key: number }) => a.key - b.key;
          expect(await sortInSlices(items, byKey, slice)).toEqual([...items].sort(byKey));
        },
      ),
    );
  });
});
