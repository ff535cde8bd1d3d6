import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACTION_BY_CATEGORY,
  assessCredential,
  BUILTIN_RULES,
  CATEGORIES,
  classifyEvent,
  normalizeEvent,
  normalizeEvents,
  type Rule,
} from '../src/classify/index.js';

const REAUTH = ['cognito_token_expired', 'wrong_organization_code', 'environment_mismatch', 'missing_permission', 'not_connected'];

// Phrases that would mean a re-auth on a 4xx: a transient status must still win.
const REAUTH_BODIES = [
  '{"__type":"NotAuthorizedException","message":"Refresh Token has expired"}',
  '{"__type":"UserNotFoundException","message":"User does not exist."}',
  '{"error":"invalid_grant"}',
  '{"error":"invalid_client"}',
  '{"message":"Organization not found"}',
  '{"message":"Partner is not authorized to access organization X"}',
  '{"__type":"AccessDeniedException","message":"denied"}',
  '{"message":"Panorama credentials not found"}',
  '{"message":"Unauthorized"}',
  'Forbidden',
  '',
];

const environment = fc.constantFrom<unknown>('STAGE', 'PRODUCTION', 'stage', undefined, null, 'MARS', 42);
const json = fc.jsonValue().map((v) => JSON.stringify(v));
const html = fc.tuple(fc.string(), fc.string()).map(([t, b]) => `<html><head><title>${t}</title></head><body><h1>${b}</h1></body></html>`);
const body = fc.oneof(
  fc.constant(null),
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  json,
  json.map((s) => JSON.stringify(s)),
  html,
  fc.constantFrom(...REAUTH_BODIES),
  fc.constantFrom(...REAUTH_BODIES).map((s) => JSON.stringify(s)),
  fc.constantFrom(...REAUTH_BODIES).map((s) => s.repeat(2000)),
  fc.anything(),
);
const statusCode = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer({ min: 100, max: 599 }).map(String),
  fc.string(),
  fc.double(),
  fc.constant(undefined),
  fc.anything(),
);
const headers = fc.oneof(
  fc.string(),
  fc.constantFrom('Host: api.bananorama.com', 'Host: api.panorama.ag', 'x: staging.example.com'),
  fc.dictionary(fc.string(), fc.string()),
  fc.anything(),
);
const rawEvent = fc.record(
  {
    id: fc.oneof(fc.string(), fc.integer(), fc.anything()),
    createdDate: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.string(),
      fc.anything(),
    ),
    statusCode,
    headers,
    body,
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);
const anyEvent = fc.oneof(rawEvent, fc.anything());

describe('no input of any shape makes the classifier throw', () => {
  it('classifyEvent returns a well-formed classification', () => {
    fc.assert(
      fc.property(anyEvent, environment, (event, clientEnvironment) => {
        const result = classifyEvent(event as Record<string, unknown>, { clientEnvironment } as never);
        expect(CATEGORIES).toContain(result.category);
        expect(result.action).toBe(ACTION_BY_CATEGORY[result.category]);
        expect(result.ruleId).not.toBe('');
        expect(result.evidence.excerpt.length).toBeLessThanOrEqual(200);
      }),
      { numRuns: 1000 },
    );
  });

  it('normalizeEvent and normalizeEvents return well-formed events', () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 20 }), (raw) => {
        for (const item of raw) {
          const e = normalizeEvent(item);
          expect(typeof e.id).toBe('string');
          expect(typeof e.body).toBe('string');
          expect(typeof e.headers).toBe('string');
          expect(e.statusCode === null || Number.isInteger(e.statusCode)).toBe(true);
        }
        const sorted = normalizeEvents(raw);
        expect(new Set(sorted.map((e) => e.id)).size).toBe(sorted.length);
      }),
      { numRuns: 500 },
    );
  });

  it('assessCredential returns a well-formed assessment', () => {
    const credential = fc.oneof(
      fc.constant(null),
      fc.record(
        {
          status: fc.oneof(fc.constantFrom('OK', 'UNAUTHENTICATED', 'MISSING_PERMISSION', 'TEMPORARILY_UNAVAILABLE'), fc.string()),
          clientEnvironment: environment,
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 20 }), credential, (events, cred) => {
        const a = assessCredential(events as Record<string, unknown>[], cred as never);
        expect(CATEGORIES).toContain(a.category);
        expect(a.action).toBe(ACTION_BY_CATEGORY[a.category]);
        expect(typeof a.since).toBe('string');
      }),
      { numRuns: 500 },
    );
  });
});

describe('a 5xx, 429 or 408 never yields a re-auth category', () => {
  const transientStatus = fc.oneof(fc.integer({ min: 500, max: 599 }), fc.constantFrom(429, 408));
  const catchAll: Rule[] = [
    {
      id: 'op.everything-expired',
      category: 'cognito_token_expired',
      reason: 'operator rule matching anything',
      match: { text: [/[\s\S]*/] },
    },
    { id: 'op.status-expired', category: 'wrong_organization_code', reason: 'operator rule on statuses', match: { status: [[100, 599]] } },
  ];
  it('with the built-in rules and with operator rules that claim otherwise', () => {
    fc.assert(
      fc.property(
        transientStatus,
        fc.boolean(),
        fc.oneof(fc.constantFrom(...REAUTH_BODIES), fc.string(), json),
        headers,
        environment,
        fc.constantFrom<readonly Rule[]>(BUILTIN_RULES, [...catchAll, ...BUILTIN_RULES], catchAll),
        (status, asString, text, hdrs, clientEnvironment, rules) => {
          const event = { id: 'x', statusCode: asString ? String(status) : status, headers: hdrs, body: text };
          const result = classifyEvent(event, { clientEnvironment } as never, rules);
          expect(REAUTH).not.toContain(result.category);
          expect(result.category).toBe('provider_unavailable');
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('evidence never holds a secret', () => {
  const b64url = (min: number, max: number) =>
    fc.string({
      unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
      minLength: min,
      maxLength: max,
    });
  const jwt = fc.tuple(b64url(10, 60), b64url(20, 200), b64url(20, 86)).map(([h, p, s]) => `eyJ${h}.eyJ${p}.${s}`);
  const refreshToken = b64url(120, 400);
  const password = fc.string({
    unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!@#$%^*()_+-=~'),
    minLength: 12,
    maxLength: 40,
  });
  const secretKey = fc.constantFrom(
    'refreshToken',
    'refresh_token',
    'accessToken',
    'access_token',
    'id_token',
    'token',
    'password',
    'Authorization',
    'client_secret',
  );
  const filler = fc.string({ maxLength: 300 });

  it('for JWTs, refresh tokens and passwords anywhere in the body', () => {
    fc.assert(
      fc.property(
        fc.oneof(jwt, refreshToken, password),
        secretKey,
        filler,
        filler,
        fc.integer({ min: 0, max: 5 }),
        fc.constantFrom(400, 401, 403, 200, 503, '404'),
        (secret, key, before, after, shape, status) => {
          const obj = { __type: 'NotAuthorizedException', message: `${before} Refresh Token has expired ${after}`, [key]: secret };
          const bodies = [
            JSON.stringify(obj),
            JSON.stringify(JSON.stringify(obj)),
            `<html><body><h1>Error</h1><p>${key}=${secret}</p></body></html>`,
            `${before} ${key}=${secret}&state=1 ${after}`,
            `${before} ${secret.startsWith('eyJ') || secret.length >= 120 ? secret : `password: ${secret}`} ${after}`,
            `error=invalid_grant&${key}=${encodeURIComponent(secret)}`,
          ];
          const text = bodies[shape] ?? '';
          const result = classifyEvent(
            { id: 'e', statusCode: status, headers: `Authorization: Bearer ${secret}`, body: text },
            { clientEnvironment: 'PRODUCTION' },
          );
          expect(result.evidence.excerpt).not.toContain(secret);
          if (secret.startsWith('eyJ')) {
            for (const part of secret.split('.')) if (part.length >= 20) expect(result.evidence.excerpt).not.toContain(part);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('assessment ordering', () => {
  const BODIES: Record<string, [number, string]> = {
    healthy: [200, '{}'],
    token: [400, '{"__type":"NotAuthorizedException","message":"Refresh Token has expired"}'],
    org: [404, '{"message":"Organization not found"}'],
    transient: [503, '<html>503</html>'],
    unknown: [418, 'teapot'],
  };
  const kinds = fc.array(fc.constantFrom(...Object.keys(BODIES)), { minLength: 1, maxLength: 30 });
  const toEvents = (list: string[]) =>
    list.map((kind, i) => {
      const [statusCode, body] = BODIES[kind] ?? [0, ''];
      return { id: `e${i}`, createdDate: new Date(Date.UTC(2026, 10, 2) + i * 60_000).toISOString(), statusCode, headers: '', body };
    });
  const cred = { status: 'OK', clientEnvironment: 'PRODUCTION' as const };

  it('does not depend on input order or on duplicated events', () => {
    const permuted = kinds.chain((list) => {
      const events = toEvents(list);
      return fc.tuple(
        fc.constant(events),
        fc.shuffledSubarray([...events, ...events.slice(0, 3)], { minLength: events.length + Math.min(3, events.length) }),
      );
    });
    fc.assert(
      fc.property(permuted, ([events, shuffled]) => {
        const a = assessCredential(events, cred);
        const b = assessCredential(shuffled, cred);
        expect([b.category, b.since, b.decidingEvent?.id]).toEqual([a.category, a.since, a.decidingEvent?.id]);
      }),
    );
  });

  it('a 2xx newer than every failure means healthy', () => {
    fc.assert(
      fc.property(kinds, (list) => {
        expect(assessCredential(toEvents([...list, 'healthy']), cred).category).toBe('healthy');
      }),
    );
  });

  it('transient failures after a definitive failure do not clear it', () => {
    fc.assert(
      fc.property(kinds, fc.constantFrom('token', 'org'), fc.integer({ min: 1, max: 10 }), (list, definitive, n) => {
        const before = assessCredential(toEvents([...list, definitive]), cred);
        const after = assessCredential(toEvents([...list, definitive, ...Array<string>(n).fill('transient')]), cred);
        expect(after.category).toBe(before.category);
        expect(after.since).toBe(before.since);
      }),
    );
  });

  it('the verdict is the category of its deciding event, whose run started at or before it', () => {
    fc.assert(
      fc.property(kinds, (list) => {
        const a = assessCredential(toEvents(list), cred);
        expect(a.decidingEvent).not.toBeNull();
        const decided = classifyEvent(a.decidingEvent ?? {}, { clientEnvironment: 'PRODUCTION' });
        expect(decided.category).toBe(a.category);
        expect(a.since <= (a.decidingEvent?.createdDate ?? '')).toBe(true);
        if (list[list.length - 1] !== 'transient') expect(a.decidingEvent?.id).toBe(`e${list.length - 1}`);
      }),
    );
  });
});
