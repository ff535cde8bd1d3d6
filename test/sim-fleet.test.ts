import { afterEach, describe, expect, it } from 'vitest';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { startTestSimulator } from './helpers/simulator.js';

const started: StartedSimulator[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
});

async function post(s: StartedSimulator, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('fleet scenarios of the simulator control API', () => {
  it('partner-password-changed gives every connected credential the same Cognito answer, and recover heals them', async () => {
    const s = await startTestSimulator({ users: 40 });
    started.push(s);
    const connected = s.sim.userIds().filter((id) => s.sim.expectedCategory(id) !== 'not_connected');
    const broken = await post(s, '/_sim/fleet/partner-password-changed', {});
    expect(broken.status).toBe(200);
    expect(broken.json['affected']).toBe(connected.length);
    for (const id of connected) expect(s.sim.expectedCategory(id)).toBe('cognito_token_expired');
    const user = (await (await fetch(`${s.url}/_sim/users/${connected[0]}`)).json()) as {
      credential: { status: string };
      events: Array<{ body: string; statusCode: number }>;
    };
    expect(user.credential.status).toBe('UNAUTHENTICATED');
    expect(user.events.at(-1)).toMatchObject({
      statusCode: 400,
      body: '{"__type":"NotAuthorizedException","message":"Incorrect username or password."}',
    });

    const healed = await post(s, '/_sim/fleet/recover', { users: connected.slice(0, 5) });
    expect(healed.json['affected']).toBe(5);
    for (const id of connected.slice(0, 5)) expect(s.sim.expectedCategory(id)).toBe('healthy');
    expect(s.sim.expectedCategory(connected[5] ?? '')).toBe('cognito_token_expired');
  });

  it('panorama-outage with a count; unknown scenarios and bad bodies are refused', async () => {
    const s = await startTestSimulator({ users: 30 });
    started.push(s);
    const outage = await post(s, '/_sim/fleet/panorama-outage', { count: 7 });
    expect(outage.json['affected']).toBe(7);
    for (const id of outage.json['users'] as string[]) expect(s.sim.expectedCategory(id)).toBe('provider_unavailable');
    expect((await post(s, '/_sim/fleet/meteor-strike', {})).status).toBe(404);
    const bad = await post(s, '/_sim/fleet/recover', { count: 0 });
    expect(bad.status).toBe(400);
    expect(String(bad.json['error'])).toContain('count');
    const list = (await (await fetch(`${s.url}/_sim/fleet`)).json()) as { scenarios: Array<{ name: string }> };
    expect(list.scenarios.map((x) => x.name)).toEqual(['partner-password-changed', 'app-client-rotated', 'panorama-outage', 'recover']);
  });
});
