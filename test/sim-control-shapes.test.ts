import { afterEach, describe, expect, it } from 'vitest';
import { assessCredential } from '../src/classify/assess-credential.js';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { simLeafClient, simToken, startTestSimulator } from './helpers/simulator.js';

const USERS_PATH = '/services/usermanagement/api/users';
const started: StartedSimulator[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
});

async function post(s: StartedSimulator, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

describe('simulator control API: every event shape the client tolerates', () => {
  it('accepts body null, statusCode as a numeric string, missing fields and 0/3/6 fractional digits, and serves them as given', async () => {
    const s = await startTestSimulator({ users: 1 });
    started.push(s);
    const created = await post(s, '/_sim/users', { id: 'odd-shapes', credential: {} });
    expect(created.status).toBe(201);
    const shapes = [
      { id: 'a', createdDate: '2026-11-02T10:00:00Z', statusCode: 200, body: null },
      { id: 'b', createdDate: '2026-11-02T10:00:01.123Z', statusCode: '503', body: 'Service Unavailable', headers: null },
      {
        id: 'c',
        createdDate: '2026-11-02T10:00:02.123456Z',
        statusCode: '400',
        body: '{"__type":"NotAuthorizedException","message":"Refresh Token has expired"}',
        headers: { 'content-type': 'application/json' },
      },
      { id: 7, createdDate: '2026-11-02T09:00:00Z', statusCode: null },
      { createdDate: null, extra: { nested: true } },
    ];
    const appended = await post(s, '/_sim/users/odd-shapes/events', shapes);
    expect(appended.status, JSON.stringify(appended.json)).toBeLessThan(300);

    const token = await simToken(s.url);
    const served = (await (
      await fetch(`${s.url}${USERS_PATH}/odd-shapes/panorama-credentials/events`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as Array<Record<string, unknown>>;
    expect(served.find((e) => e['id'] === 'a')).toMatchObject({ body: null, statusCode: 200, createdDate: '2026-11-02T10:00:00Z' });
    expect(served.find((e) => e['id'] === 'b')).toMatchObject({
      statusCode: '503',
      headers: null,
      createdDate: '2026-11-02T10:00:01.123Z',
    });
    expect(served.find((e) => e['id'] === 'c')).toMatchObject({ statusCode: '400', createdDate: '2026-11-02T10:00:02.123456Z' });
    expect(served.find((e) => e['id'] === '7')).toMatchObject({ statusCode: null });
    expect(served.find((e) => e['extra'] !== undefined)).toMatchObject({ createdDate: null, extra: { nested: true } });

    // The real client reads them without throwing, and the classifier decides on the token expiry.
    const events = await simLeafClient(s).getEvents('panorama', 'odd-shapes');
    expect(events).toHaveLength(5);
    expect(assessCredential(events, { id: 'c1', status: 'OK', clientEnvironment: 'PRODUCTION' }).category).toBe('cognito_token_expired');
  });
});
