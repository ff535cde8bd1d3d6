import { afterEach, describe, expect, it } from 'vitest';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { simToken, startTestSimulator } from './helpers/simulator.js';

const USERS_PATH = '/services/usermanagement/api/users';
const started: StartedSimulator[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
});

async function sim(users = 20): Promise<StartedSimulator> {
  const s = await startTestSimulator({ users });
  started.push(s);
  return s;
}

async function call(s: StartedSimulator, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${s.url}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

const field = (value: unknown, key: string): unknown =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;

describe('control API users', () => {
  it('POST /_sim/users creates a user Leaf then lists and serves, with the given events', async () => {
    const s = await sim(3);
    const created = await call(s, 'POST', '/_sim/users', {
      id: 'scripted-1',
      clientEnvironment: 'STAGE',
      credential: { organizationCode: 'ORG42' },
      events: [
        { statusCode: 200, body: '{"ok":true}' },
        { statusCode: 400, body: '{"error": "invalid_grant"}' },
      ],
    });
    expect(created).toEqual({ status: 201, json: { id: 'scripted-1' } });
    const view = await call(s, 'GET', '/_sim/users/scripted-1');
    expect(view.status).toBe(200);
    expect(field(view.json, 'expectedCategory')).toBe('cognito_token_expired');
    expect(field(field(view.json, 'credential'), 'clientEnvironment')).toBe('STAGE');
    expect(field(field(view.json, 'credential'), 'organizationCode')).toBe('ORG42');
    const events = field(view.json, 'events') as Array<Record<string, unknown>>;
    expect(events).toHaveLength(2);
    expect(events.every((e) => typeof e['id'] === 'string' && /\.\d{6}Z$/.test(String(e['createdDate'])))).toBe(true);
    expect(Date.parse(String(events[1]?.['createdDate']))).toBeGreaterThan(Date.parse(String(events[0]?.['createdDate'])));

    const token = await simToken(s.url);
    const leafEvents = await fetch(`${s.url}${USERS_PATH}/scripted-1/panorama-credentials/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await leafEvents.json()).toEqual(events);
    const list = await fetch(`${s.url}${USERS_PATH}?size=100`, { headers: { authorization: `Bearer ${token}` } });
    expect(list.headers.get('x-total-count')).toBe('4');
    expect(((await list.json()) as Array<{ id: string }>).at(-1)?.id).toBe('scripted-1');

    expect((await call(s, 'POST', '/_sim/users', { id: 'scripted-1' })).status).toBe(409);
    const contradictory = await call(s, 'POST', '/_sim/users', { id: 'scripted-2', credential: null, events: [{ statusCode: 200 }] });
    expect(contradictory.status).toBe(409);
    expect((await call(s, 'GET', '/_sim/users/scripted-2')).status).toBe(404);
    const noCredential = await call(s, 'POST', '/_sim/users', { credential: null });
    expect(noCredential.status).toBe(201);
    expect(field((await call(s, 'GET', `/_sim/users/${String(field(noCredential.json, 'id'))}`)).json, 'expectedCategory')).toBe(
      'not_connected',
    );
  });

  it('rejects bad bodies with a message naming the field', async () => {
    const s = await sim(1);
    const bad = await call(s, 'POST', '/_sim/users', { clientEnvironment: 'MARS' });
    expect(bad.status).toBe(400);
    expect(String(field(bad.json, 'error'))).toMatch(/clientEnvironment/);
    const unknown = await call(s, 'POST', '/_sim/users', { nickname: 'x' });
    expect(unknown.status).toBe(400);
    expect(String(field(unknown.json, 'error'))).toMatch(/nickname/);
    const notJson = await fetch(`${s.url}/_sim/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ error: 'request body is not valid JSON' });
    expect((await call(s, 'GET', '/_sim/nothing-here')).status).toBe(404);
  });

  it('GET /_sim/users pages ids; DELETE /_sim/users/{id} makes the user disappear from Leaf', async () => {
    const s = await sim(25);
    expect(field((await call(s, 'GET', '/_sim/users')).json, 'size')).toBe(100);
    const page1 = await call(s, 'GET', '/_sim/users?page=1&size=10');
    expect(page1.json).toEqual({ total: 25, page: 1, size: 10, ids: s.sim.userIds().slice(10, 20) });
    const victim = s.sim.userIds()[3] ?? '';
    expect((await call(s, 'DELETE', `/_sim/users/${victim}`)).status).toBe(204);
    expect((await call(s, 'DELETE', `/_sim/users/${victim}`)).status).toBe(404);
    expect((await call(s, 'GET', `/_sim/users/${victim}`)).status).toBe(404);
    const token = await simToken(s.url);
    const credential = await fetch(`${s.url}${USERS_PATH}/${victim}/panorama-credentials`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(credential.status).toBe(404);
    const list = await fetch(`${s.url}${USERS_PATH}?size=100`, { headers: { authorization: `Bearer ${token}` } });
    expect(list.headers.get('x-total-count')).toBe('24');
    expect(((await list.json()) as Array<{ id: string }>).map((u) => u.id)).not.toContain(victim);
    expect((await call(s, 'GET', '/_sim/users?size=0')).status).toBe(400);
  });
});

describe('control API credentials and events', () => {
  it('breaks and heals a seeded healthy credential by appending events', async () => {
    const s = await sim(40);
    const id = s.sim.userIds().find((u) => s.sim.expectedCategory(u) === 'healthy') ?? '';
    const before = (await call(s, 'GET', `/_sim/users/${id}`)).json;
    const seededCount = (field(before, 'events') as unknown[]).length;

    const broken = await call(s, 'POST', `/_sim/users/${id}/events`, [
      { statusCode: 400, body: '{"__type": "NotAuthorizedException", "message": "Refresh Token has expired"}' },
    ]);
    expect(broken.status).toBe(201);
    expect(field(broken.json, 'expectedCategory')).toBe('cognito_token_expired');
    expect((field(broken.json, 'events') as unknown[]).length).toBe(seededCount + 1);
    expect(field(field((await call(s, 'GET', `/_sim/users/${id}`)).json, 'credential'), 'status')).toBe('UNAUTHENTICATED');

    const blip = await call(s, 'POST', `/_sim/users/${id}/events`, { events: [{ statusCode: '503', body: '<html>503</html>' }] });
    expect(field(blip.json, 'expectedCategory')).toBe('cognito_token_expired');

    const healed = await call(s, 'POST', `/_sim/users/${id}/events`, [{ statusCode: 200, body: '{}' }]);
    expect(field(healed.json, 'expectedCategory')).toBe('healthy');
    expect(s.sim.expectedCategory(id)).toBe('healthy');
    expect(field(field((await call(s, 'GET', `/_sim/users/${id}`)).json, 'credential'), 'status')).toBe('OK');

    const explicit = await call(s, 'POST', `/_sim/users/${id}/events`, [
      { id: 'old-1', createdDate: '2020-01-01T00:00:00Z', statusCode: 500, body: '' },
    ]);
    expect(field(explicit.json, 'expectedCategory')).toBe('healthy');
    expect((field(explicit.json, 'events') as Array<{ id: string }>).some((e) => e.id === 'old-1')).toBe(true);
    // A missing statusCode is scripted as given (the client tolerates it): test/sim-control-shapes.test.ts.
    expect((await call(s, 'POST', `/_sim/users/${id}/events`, [{ body: 'no status' }])).status).toBe(201);
    expect((await call(s, 'POST', '/_sim/users/nobody/events', [{ statusCode: 200 }])).status).toBe(404);
  });

  it('PUT credential: status follows the second-witness rule, creates a credential when absent', async () => {
    const s = await sim(60);
    const healthy = s.sim.userIds().find((u) => s.sim.expectedCategory(u) === 'healthy') ?? '';
    const put = await call(s, 'PUT', `/_sim/users/${healthy}/credential`, { status: 'UNAUTHENTICATED' });
    expect(put.status).toBe(200);
    expect(field(put.json, 'expectedCategory')).toBe('cognito_token_expired');
    const back = await call(s, 'PUT', `/_sim/users/${healthy}/credential`, {
      status: 'OK',
      organizationCode: 'NEW01',
      clientEnvironment: 'STAGE',
    });
    expect(field(back.json, 'expectedCategory')).toBe('healthy');
    expect(field(field(back.json, 'credential'), 'organizationCode')).toBe('NEW01');

    const lonely = s.sim.userIds().find((u) => s.sim.expectedCategory(u) === 'not_connected') ?? '';
    const created = await call(s, 'PUT', `/_sim/users/${lonely}/credential`, { clientEnvironment: 'STAGE' });
    expect(created.status).toBe(200);
    expect(field(created.json, 'expectedCategory')).toBe('healthy');
    expect(field(field(created.json, 'credential'), 'clientEnvironment')).toBe('STAGE');
    expect(field((await call(s, 'GET', `/_sim/users/${lonely}`)).json, 'events')).toEqual([]);
    expect((await call(s, 'PUT', `/_sim/users/${lonely}/credential`, { status: '' })).status).toBe(400);
    expect((await call(s, 'PUT', '/_sim/users/nobody/credential', {})).status).toBe(404);
  });

  it('DELETE credential detaches it: Leaf answers 404 and the user is not_connected', async () => {
    const s = await sim(20);
    const id = s.sim.userIds().find((u) => s.sim.expectedCategory(u) !== 'not_connected') ?? '';
    expect((await call(s, 'DELETE', `/_sim/users/${id}/credential`)).status).toBe(204);
    expect(s.sim.expectedCategory(id)).toBe('not_connected');
    const token = await simToken(s.url);
    for (const path of ['panorama-credentials', 'panorama-credentials/events']) {
      const r = await fetch(`${s.url}${USERS_PATH}/${id}/${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(r.status).toBe(404);
    }
    expect((await call(s, 'POST', `/_sim/users/${id}/events`, [{ statusCode: 200 }])).status).toBe(409);
  });
});

describe('control API mix, stats and faults', () => {
  it('GET /_sim/expected gives the mix and, paged, each user’s category', async () => {
    const s = await sim(30);
    const expected = await call(s, 'GET', '/_sim/expected?page=0&size=5');
    expect(field(expected.json, 'mix')).toEqual(s.sim.expected());
    const users = field(expected.json, 'users') as Array<{ id: string; expectedCategory: string; scenario: string }>;
    expect(users.map((u) => u.id)).toEqual(s.sim.userIds().slice(0, 5));
    for (const u of users) expect(u.expectedCategory).toBe(s.sim.expectedCategory(u.id));
    expect(Object.values(s.sim.expected()).reduce((a, b) => a + b, 0)).toBe(30);
  });

  it('GET /_sim/stats counts Leaf requests per route; reset clears them', async () => {
    const s = await sim(5);
    const token = await simToken(s.url);
    const id = s.sim.userIds()[0] ?? '';
    await fetch(`${s.url}${USERS_PATH}`, { headers: { authorization: `Bearer ${token}` } });
    await fetch(`${s.url}${USERS_PATH}/${id}/panorama-credentials/events`, { headers: { authorization: `Bearer ${token}` } });
    await fetch(`${s.url}${USERS_PATH}/${id}/panorama-credentials`, { headers: { authorization: `Bearer ${token}` } });
    await fetch(`${s.url}${USERS_PATH}/${id}/cnhi-credentials`, { headers: { authorization: `Bearer ${token}` } });
    await fetch(`${s.url}/services/alerts/api/alerts/webhooks`, { headers: { authorization: `Bearer ${token}` } });
    const stats = (await call(s, 'GET', '/_sim/stats')).json;
    expect(field(stats, 'requests')).toEqual({
      authenticate: 1,
      list_users: 1,
      get_events: 1,
      get_credential: 1,
      other_provider: 1,
      webhooks: 1,
    });
    expect(field(stats, 'currentRps')).toBeGreaterThanOrEqual(1);
    const reset = (await call(s, 'POST', '/_sim/stats/reset')).json;
    expect(field(reset, 'requests')).toEqual({});
    expect(field(field(reset, 'alerts'), 'sent')).toBe(0);
  });

  it('PUT /_sim/faults replaces the faults and validates them; GET reads them', async () => {
    const s = await sim(1);
    const set = await call(s, 'PUT', '/_sim/faults', { latencyMs: 5, errorRate: 0.25 });
    expect(set.json).toEqual({ latencyMs: 5, errorRate: 0.25, malformedRate: 0, rateLimitRps: 0 });
    expect((await call(s, 'GET', '/_sim/faults')).json).toEqual(set.json);
    expect((await call(s, 'PUT', '/_sim/faults', { errorRate: 2 })).status).toBe(400);
    expect((await call(s, 'PUT', '/_sim/faults', { jitter: 1 })).status).toBe(400);
    expect((await call(s, 'PUT', '/_sim/faults', {})).json).toEqual({ latencyMs: 0, errorRate: 0, malformedRate: 0, rateLimitRps: 0 });
  });
});
