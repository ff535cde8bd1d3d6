import { afterEach, describe, expect, it } from 'vitest';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { simToken, startTestSimulator, TEST_SIM_ACCOUNT } from './helpers/simulator.js';

const USERS_PATH = '/services/usermanagement/api/users';
const started: StartedSimulator[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
});

async function sim(options: Parameters<typeof startTestSimulator>[0] = {}): Promise<StartedSimulator> {
  const s = await startTestSimulator(options);
  started.push(s);
  return s;
}

async function get(url: string, token: string | undefined): Promise<Response> {
  return fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
}

function expectLeafError(body: unknown, status: number): void {
  expect(body).toMatchObject({
    status,
    title: expect.any(String),
    type: expect.any(String),
    path: expect.any(String),
    message: expect.any(String),
    errorKey: expect.any(String),
  });
}

function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Parses an RFC 5988 Link header into rel → URL. */
function links(header: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(',')) {
    const m = /<([^>]+)>;\s*rel="([^"]+)"/.exec(part.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[2]] = m[1];
  }
  return out;
}

describe('POST /api/authenticate', () => {
  it('returns an HS256 JWT with sub and exp: 30 days with rememberMe "true", 24 h otherwise', async () => {
    const s = await sim();
    const login = async (rememberMe: string | undefined) => {
      const response = await fetch(`${s.url}/api/authenticate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...TEST_SIM_ACCOUNT, ...(rememberMe === undefined ? {} : { rememberMe }) }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { id_token: string };
      return body.id_token;
    };
    const remembered = jwtClaims(await login('true'));
    const header = JSON.parse(Buffer.from((await login('true')).split('.')[0] ?? '', 'base64url').toString('utf8')) as unknown;
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(remembered['sub']).toBe(TEST_SIM_ACCOUNT.username);
    const nowS = Date.now() / 1000;
    expect(Number(remembered['exp']) - nowS).toBeGreaterThan(30 * 86400 - 60);
    expect(Number(remembered['exp']) - nowS).toBeLessThanOrEqual(30 * 86400 + 1);
    const shortLived = jwtClaims(await login('false'));
    expect(Number(shortLived['exp']) - nowS).toBeGreaterThan(86400 - 60);
    expect(Number(shortLived['exp']) - nowS).toBeLessThanOrEqual(86400 + 1);
  });

  it('answers 401 with a Leaf error body for wrong credentials, 400 without them', async () => {
    const s = await sim();
    const wrong = await fetch(`${s.url}/api/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: TEST_SIM_ACCOUNT.username, password: 'nope', rememberMe: 'true' }),
    });
    expect(wrong.status).toBe(401);
    const body = await wrong.json();
    expectLeafError(body, 401);
    expect(JSON.stringify(body)).not.toContain('nope');
    const missing = await fetch(`${s.url}/api/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(missing.status).toBe(400);
    const bad = await fetch(`${s.url}/api/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"username":',
    });
    expect(bad.status).toBe(400);
    expectLeafError(await bad.json(), 400);
  });

  it('accepts the username and password it was started with', async () => {
    const s = await sim({ username: 'ops@farm.example', password: 'other-secret' });
    await expect(simToken(s.url)).rejects.toThrow(/401/);
    expect(await simToken(s.url, { username: 'ops@farm.example', password: 'other-secret' })).toMatch(/^eyJ/);
  });
});

describe('bearer tokens on Leaf routes', () => {
  it('answers 401 with a Leaf error body for a missing, malformed, forged or expired token', async () => {
    let now = Date.parse('2026-11-29T10:00:00Z');
    const s = await sim({ tokenTtlSeconds: 60, now: () => now });
    const token = await simToken(s.url);
    expect((await get(`${s.url}${USERS_PATH}`, token)).status).toBe(200);
    const [h, p] = token.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ sub: 'x', exp: 4_000_000_000 })).toString('base64url');
    for (const bad of [undefined, 'not-a-jwt', `${h}.${forgedPayload}.${token.split('.')[2]}`, `${h}.${p}.AAAA`]) {
      const response = await get(`${s.url}${USERS_PATH}`, bad);
      expect(response.status).toBe(401);
      const body = await response.json();
      expectLeafError(body, 401);
      expect((body as { path: string }).path).toBe(USERS_PATH);
    }
    now += 61_000;
    const expired = await get(`${s.url}${USERS_PATH}`, token);
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { message: string }).message).toMatch(/expired/i);
    const fresh = await simToken(s.url);
    expect((await get(`${s.url}${USERS_PATH}`, fresh)).status).toBe(200);
  });

  it('protects every Leaf route but not the control API', async () => {
    const s = await sim();
    const id = s.sim.userIds()[0] ?? '';
    for (const path of [
      USERS_PATH,
      `${USERS_PATH}/${id}/panorama-credentials`,
      `${USERS_PATH}/${id}/panorama-credentials/events`,
      '/services/alerts/api/alerts/webhooks',
    ]) {
      expect((await get(`${s.url}${path}`, undefined)).status, path).toBe(401);
    }
    expect((await get(`${s.url}/_sim/stats`, undefined)).status).toBe(200);
  });
});

describe('GET /users paging', () => {
  it('walks 237 users over many pages with X-Total-Count and JHipster Link headers', async () => {
    const s = await sim({ users: 237 });
    const token = await simToken(s.url);
    const seen: string[] = [];
    let next: string | undefined = `${s.url}${USERS_PATH}?page=0&size=10`;
    let pages = 0;
    while (next !== undefined) {
      const response = await get(next, token);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-total-count')).toBe('237');
      const rel = links(response.headers.get('link'));
      expect(rel['last']).toContain('page=23');
      expect(rel['first']).toContain('page=0');
      const body = (await response.json()) as Array<Record<string, unknown>>;
      expect(Array.isArray(body)).toBe(true);
      for (const user of body) {
        expect(Object.keys(user).sort()).toEqual(['email', 'externalId', 'id', 'name']);
        seen.push(String(user['id']));
      }
      next = rel['next'];
      pages += 1;
    }
    expect(pages).toBe(24);
    expect(new Set(seen).size).toBe(237);
    expect(seen).toEqual(s.sim.userIds());
  });

  it('defaults size to 20, caps it at 100, rejects bad numbers and pages past the end are empty', async () => {
    const s = await sim({ users: 150 });
    const token = await simToken(s.url);
    const dflt = await get(`${s.url}${USERS_PATH}`, token);
    expect(((await dflt.json()) as unknown[]).length).toBe(20);
    expect(links(dflt.headers.get('link'))['next']).toContain('size=20');
    const capped = await get(`${s.url}${USERS_PATH}?page=0&size=500`, token);
    expect(((await capped.json()) as unknown[]).length).toBe(100);
    const last = await get(`${s.url}${USERS_PATH}?page=1&size=100`, token);
    expect(((await last.json()) as unknown[]).length).toBe(50);
    expect(links(last.headers.get('link'))['next']).toBeUndefined();
    expect(links(last.headers.get('link'))['prev']).toContain('page=0');
    const past = await get(`${s.url}${USERS_PATH}?page=9&size=100`, token);
    expect(await past.json()).toEqual([]);
    for (const q of ['page=-1', 'size=abc', 'size=0']) {
      const response = await get(`${s.url}${USERS_PATH}?${q}`, token);
      expect(response.status, q).toBe(400);
      expectLeafError(await response.json(), 400);
    }
  });

  it('filters by email and externalId', async () => {
    const s = await sim({ users: 30 });
    const token = await simToken(s.url);
    const target = s.sim.user(s.sim.userIds()[7] ?? '');
    if (!target) throw new Error('no user 7');
    const byEmail = await get(`${s.url}${USERS_PATH}?email=${encodeURIComponent(target.email)}`, token);
    expect(byEmail.headers.get('x-total-count')).toBe('1');
    expect(await byEmail.json()).toEqual([{ id: target.id, name: target.name, email: target.email, externalId: target.externalId }]);
    const byExternal = await get(`${s.url}${USERS_PATH}?externalId=${encodeURIComponent(target.externalId)}`, token);
    expect(((await byExternal.json()) as Array<{ id: string }>).map((u) => u.id)).toEqual([target.id]);
    const byName = await get(`${s.url}${USERS_PATH}?name=${encodeURIComponent(target.name)}&size=1`, token);
    expect(((await byName.json()) as Array<{ name: string }>).every((u) => u.name === target.name)).toBe(true);
    expect(links(byName.headers.get('link'))['last']).toContain(`name=${encodeURIComponent(target.name).replace(/%20/g, '+')}`);
    const none = await get(`${s.url}${USERS_PATH}?email=nobody%40example.com`, token);
    expect(none.headers.get('x-total-count')).toBe('0');
    expect(await none.json()).toEqual([]);
  });
});

describe('Panorama credentials and events', { timeout: 60_000 }, () => {
  it('serves the credential object with realistic fake tokens, 404 when none or unknown user', async () => {
    const s = await sim({ users: 80 });
    const token = await simToken(s.url);
    const ids = s.sim.userIds();
    const connected = ids.find((id) => s.sim.expectedCategory(id) !== 'not_connected') ?? '';
    const detached = ids.find((id) => s.sim.expectedCategory(id) === 'not_connected') ?? '';
    const response = await get(`${s.url}${USERS_PATH}/${connected}/panorama-credentials`, token);
    expect(response.status).toBe(200);
    const credential = (await response.json()) as Record<string, string>;
    expect(Object.keys(credential).sort()).toEqual(
      [
        'accessToken',
        'clientEnvironment',
        'clientId',
        'createdTime',
        'id',
        'organizationCode',
        'refreshToken',
        'status',
        'username',
      ].sort(),
    );
    expect(credential['accessToken']).toMatch(/^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/);
    expect((credential['refreshToken'] ?? '').split('.')).toHaveLength(5);
    expect(credential['clientId']).toMatch(/^[a-z0-9]{26}$/);
    expect(['STAGE', 'PRODUCTION']).toContain(credential['clientEnvironment']);
    for (const path of [
      `${detached}/panorama-credentials`,
      `${detached}/panorama-credentials/events`,
      'no-such-user/panorama-credentials',
      'no-such-user/panorama-credentials/events',
    ]) {
      const r = await get(`${s.url}${USERS_PATH}/${path}`, token);
      expect(r.status, path).toBe(404);
      expectLeafError(await r.json(), 404);
    }
    const deere = await get(`${s.url}${USERS_PATH}/${connected}/john-deere-credentials`, token);
    expect(deere.status).toBe(404);
    expect((await get(`${s.url}${USERS_PATH}/${connected}/john-deere-credentials/events`, token)).status).toBe(404);
    const one = await get(`${s.url}${USERS_PATH}/${connected}`, token);
    expect(await one.json()).toMatchObject({ id: connected });
    expect(one.headers.get('server-timing')).toMatch(/^sim;dur=\d+\.\d{3}$/);
    expect((await get(`${s.url}${USERS_PATH}/nobody`, token)).status).toBe(404);
    const unknownPath = await get(`${s.url}/services/nothing/here`, token);
    expect(unknownPath.status).toBe(404);
    expectLeafError(await unknownPath.json(), 404);
  });

  it("serves a user's events as a bare array in Leaf's varied formats", async () => {
    const s = await sim({ users: 400, seed: 3 });
    const token = await simToken(s.url);
    const formats = {
      numeric: 0,
      stringStatus: 0,
      frac0: 0,
      frac3: 0,
      frac6: 0,
      jsonHeaders: 0,
      lineHeaders: 0,
      unsorted: 0,
      duplicate: 0,
      extras: 0,
    };
    for (const id of s.sim
      .userIds()
      .filter((i) => s.sim.expectedCategory(i) !== 'not_connected')
      .slice(0, 80)) {
      const response = await get(`${s.url}${USERS_PATH}/${id}/panorama-credentials/events`, token);
      expect(response.status).toBe(200);
      const events = (await response.json()) as Array<Record<string, unknown>>;
      expect(Array.isArray(events)).toBe(true);
      const dates = events.map((e) => Date.parse(String(e['createdDate'])));
      if (dates.some((d, i) => i > 0 && d < (dates[i - 1] ?? 0))) formats.unsorted += 1;
      if (new Set(events.map((e) => e['id'])).size < events.length) formats.duplicate += 1;
      for (const e of events) {
        expect(typeof e['id']).toBe('string');
        expect(typeof e['body']).toBe('string');
        expect(typeof e['headers']).toBe('string');
        if (typeof e['statusCode'] === 'number') formats.numeric += 1;
        else if (typeof e['statusCode'] === 'string' && /^\d{3}$/.test(e['statusCode'])) formats.stringStatus += 1;
        else throw new Error(`odd statusCode ${String(e['statusCode'])}`);
        const date = String(e['createdDate']);
        expect(Number.isNaN(Date.parse(date))).toBe(false);
        if (/T\d\d:\d\d:\d\dZ$/.test(date)) formats.frac0 += 1;
        if (/\.\d{3}Z$/.test(date)) formats.frac3 += 1;
        if (/\.\d{6}Z$/.test(date)) formats.frac6 += 1;
        const headers = String(e['headers']);
        if (headers.startsWith('{')) formats.jsonHeaders += 1;
        else if (/^[\w-]+: /.test(headers)) formats.lineHeaders += 1;
        if ('durationMs' in e) formats.extras += 1;
      }
    }
    for (const [name, count] of Object.entries(formats)) expect(count, name).toBeGreaterThan(0);
  });
});
