import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLeafAlertsRouter, verifyLeafSignature } from '../src/http/routes/leaf-alerts.route.js';
import type { ProviderId } from '../src/core/providers.js';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { simLeafClient, startTestSimulator } from './helpers/simulator.js';
import { eventually, metricValue, observability } from './helpers/webhook-fixtures.js';

const SECRET = 'leaf-alerts-secret';
// Computed independently:
//   printf %s '{"type": "credentialsUnauthenticated", "provider": "Panorama", "credentialId": "c-1"}' \
//     | openssl dgst -sha256 -hmac 'leaf-alerts-secret' -binary | base64
const VECTOR_BODY = '{"type": "credentialsUnauthenticated", "provider": "Panorama", "credentialId": "c-1"}';
const VECTOR_SIG = 'T8NxC2bO96xnFpe2fTVo3vTJQbe+fFJL19+MsH0pjeE=';

let server: Server;
let url: string;
let polls: Array<{ provider: ProviderId; leafUserId: string }>;
let known: Map<string, { provider: ProviderId; leafUserId: string }>;
let obs: ReturnType<typeof observability>;
let sim: StartedSimulator | undefined;

beforeEach(async () => {
  polls = [];
  known = new Map([['c-1', { provider: 'panorama', leafUserId: 'user-1' }]]);
  obs = observability([]);
  const app = express();
  app.use(
    createLeafAlertsRouter({
      secret: SECRET,
      lookupCredential: async (id) => known.get(id) ?? null,
      requestPoll: async (provider, leafUserId) => {
        if (leafUserId === 'redis-down') throw new Error('Connection is closed.');
        polls.push({ provider, leafUserId });
      },
      metrics: obs.metrics,
      logger: obs.logger,
    }),
  );
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/leaf/alerts`;
});

afterEach(async () => {
  await sim?.close();
  sim = undefined;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function post(body: string, signature?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signature !== undefined) headers['x-leaf-signature'] = signature;
  const response = await fetch(url, { method: 'POST', headers, body });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}
const outcome = (o: string) => metricValue(obs.metrics, 'credwatch_leaf_alerts_total', { outcome: o });

describe('verifyLeafSignature', () => {
  it('matches the independently computed vector and nothing else', () => {
    expect(verifyLeafSignature(SECRET, Buffer.from(VECTOR_BODY), VECTOR_SIG)).toBe(true);
    expect(verifyLeafSignature(SECRET, Buffer.from(`${VECTOR_BODY} `), VECTOR_SIG)).toBe(false);
    expect(verifyLeafSignature('other', Buffer.from(VECTOR_BODY), VECTOR_SIG)).toBe(false);
    expect(verifyLeafSignature(SECRET, Buffer.from(VECTOR_BODY), undefined)).toBe(false);
    expect(verifyLeafSignature(SECRET, Buffer.from(VECTOR_BODY), 'c2hvcnQ=')).toBe(false);
  });
});

describe('POST /leaf/alerts', () => {
  it('rejects a bad or missing signature with 401 and requests no poll', async () => {
    expect((await post(VECTOR_BODY, VECTOR_SIG.replace('T', 'U'))).status).toBe(401);
    expect((await post(VECTOR_BODY)).status).toBe(401);
    // Signed bytes differ from the bytes sent (a re-serialisation): rejected.
    expect((await post(JSON.stringify(JSON.parse(VECTOR_BODY)), VECTOR_SIG)).status).toBe(401);
    expect(polls).toEqual([]);
    expect(await outcome('bad_signature')).toBe(3);
    expect(obs.lines.join('')).not.toContain(VECTOR_SIG);
  });

  it('requests a poll of the credential owner for a signed alert', async () => {
    const res = await post(VECTOR_BODY, VECTOR_SIG);
    expect(res).toEqual({ status: 202, json: { status: 'poll_requested' } });
    expect(polls).toEqual([{ provider: 'panorama', leafUserId: 'user-1' }]);
    expect(await outcome('accepted')).toBe(1);
  });

  it('answers 503 when the poll cannot be enqueued, so Leaf retries', async () => {
    known.set('c-2', { provider: 'panorama', leafUserId: 'redis-down' });
    const body = '{"type": "credentialsUnauthenticated", "credentialId": "c-2"}';
    expect((await post(body, leafSign(body))).status).toBe(503);
    expect(await outcome('accepted')).toBe(0);
  });

  it('answers the signed registration ping with 200', async () => {
    const body = '{"message": "confirmation of webhook upon registration"}';
    expect((await post(body, leafSign(body))).status).toBe(200);
    expect(await outcome('ping')).toBe(1);
    expect(polls).toEqual([]);
  });

  it('counts an alert for an unknown credential and answers 202', async () => {
    const body = '{"type": "credentialsLimitedPermission", "credentialId": "nobody"}';
    expect(await post(body, leafSign(body))).toEqual({ status: 202, json: { status: 'unknown_credential' } });
    expect(await outcome('unknown_credential')).toBe(1);
    expect(polls).toEqual([]);
  });

  it('answers 400 to signed bodies that are not an alert', async () => {
    for (const body of ['not json', '[1]', '{"type": "credentialsUnauthenticated"}']) {
      expect((await post(body, leafSign(body))).status).toBe(400);
    }
    expect(polls).toEqual([]);
    const huge = JSON.stringify({ type: 'credentialsUnauthenticated', credentialId: 'c-1', pad: 'x'.repeat(70_000) });
    expect(await post(huge, leafSign(huge))).toMatchObject({ status: 413, json: { error: 'too_large' } });
    expect(await outcome('invalid')).toBe(4);
  });

  it('turns an alert pushed by the simulator into a poll request', async () => {
    sim = await startTestSimulator();
    const leaf = simLeafClient(sim);
    const hook = await leaf.createAlertWebhook({
      events: ['credentialsUnauthenticated', 'credentialsLimitedPermission'],
      name: 'credwatch',
      secret: SECRET,
      url,
    });
    expect(hook.events).toEqual(['credentialsUnauthenticated', 'credentialsLimitedPermission']);
    await eventually(async () => (await outcome('ping')) === 1, 5000, 'registration ping');

    const userId = sim.sim.userIds().find((id) => sim?.sim.user(id)?.credential?.status === 'OK');
    const credentialId = userId === undefined ? undefined : sim.sim.user(userId)?.credential?.id;
    if (userId === undefined || credentialId === undefined) throw new Error('simulator has no OK credential');
    known.set(credentialId, { provider: 'panorama', leafUserId: userId });
    const put = await fetch(`${sim.url}/_sim/users/${userId}/credential`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'UNAUTHENTICATED' }),
    });
    expect(put.status).toBe(200);
    await eventually(() => polls.length === 1, 5000, 'poll requested from a pushed alert');
    expect(polls).toEqual([{ provider: 'panorama', leafUserId: userId }]);
    leaf.close();
  });
});

/** Signs like Leaf (node:crypto here; the vector test above pins the algorithm to openssl's output). */
function leafSign(body: string): string {
  return createHmac('sha256', SECRET).update(body).digest('base64');
}
