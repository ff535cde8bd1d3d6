import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWebhooksRouter } from '../src/http/routes/webhooks.route.js';
import { webhookIdFor } from '../src/webhooks/dispatcher.js';
import { createWebhookService, type WebhookService } from '../src/webhooks/webhook-service.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';
import { eventually, observability, TEST_SECRET, transition, xaddTransition } from './helpers/webhook-fixtures.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

let prefix: string;
let redis: Redis;
let cleanup: () => Promise<void>;
let receiver: WebhookReceiver;
let service: WebhookService;
let server: Server;
let base: string;

beforeEach(async () => {
  prefix = uniquePrefix('webhook-routes');
  ({ redis, cleanup } = await testRedis(prefix));
  receiver = await WebhookReceiver.start();
  receiver.setFallback({ status: 500 });
  const obs = observability(['app']);
  service = createWebhookService({
    redis,
    prefix,
    endpoints: [{ name: 'app', url: receiver.url('/hook?sig=query-secret'), secrets: [TEST_SECRET], filters: { providers: ['panorama'] } }],
    timeoutMs: 2000,
    cooldownMs: 3_600_000,
    notifyUnclassified: false,
    metrics: obs.metrics,
    logger: obs.logger,
    retrySchedule: [],
    tuning: { claimIdleMs: 600_000, blockMs: 200 },
  });
  await service.start();
  server = createServer(express().use(createWebhooksRouter(service)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await service.close();
  await receiver.stop();
  await cleanup();
});

async function call(method: string, path: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, { method });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('webhooks admin routes', () => {
  it('lists endpoints without secrets or query strings', async () => {
    const res = await call('GET', '/api/webhooks/endpoints');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      endpoints: [
        {
          name: 'app',
          url: `http://127.0.0.1:${receiver.port}/hook`,
          filters: { providers: ['panorama'] },
          lastSuccessAt: null,
          lastFailureAt: null,
          failuresInRow: 0,
          lastError: null,
          disabled: false,
          disabledAt: null,
          deadLetters: 0,
          state: 'healthy',
          failingSince: null,
          waiting: 0,
          backlog: 0,
        },
      ],
    });
    expect(JSON.stringify(res.json)).not.toContain('whsec_');
  });

  it('answers 400 naming the bad parameter', async () => {
    for (const [path, parameter] of [
      ['/api/webhooks/dead-letters?limit=0', 'limit'],
      ['/api/webhooks/dead-letters?limit=abc', 'limit'],
      ['/api/webhooks/dead-letters?cursor=x', 'cursor'],
      ['/api/webhooks/dead-letters?endpoint=Bad%20Name', 'endpoint'],
      ['/api/webhooks/dead-letters?endpoint=other', 'endpoint'],
      ['/api/webhooks/dead-letters?colour=red', 'colour'],
    ] as const) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(400);
      expect(res.json['parameter'], path).toBe(parameter);
      expect(String(res.json['message']), path).toContain(parameter);
    }
    const badId = await call('POST', '/api/webhooks/dead-letters/not-an-id/redeliver');
    expect(badId).toMatchObject({ status: 400, json: { parameter: 'id' } });
  });

  it('answers 404 for an unknown dead letter or endpoint', async () => {
    expect((await call('POST', `/api/webhooks/dead-letters/msg_${'0'.repeat(32)}/redeliver`)).status).toBe(404);
    expect((await call('POST', '/api/webhooks/endpoints/other/enable')).status).toBe(404);
  });

  it('re-enables a disabled endpoint', async () => {
    receiver.respondWith({ status: 410 });
    await xaddTransition(redis, prefix, transition('healthy', 'missing_permission'));
    await eventually(async () => (await service.endpointsState())[0]?.disabled === true, 10_000, 'endpoint disabled');
    const listed = (await call('GET', '/api/webhooks/endpoints')).json['endpoints'] as Array<Record<string, unknown>>;
    expect(listed[0]).toMatchObject({ disabled: true, lastError: 'HTTP 410', disabledAt: expect.any(String) as string });
    expect(await call('POST', '/api/webhooks/endpoints/app/enable')).toEqual({ status: 200, json: { name: 'app', disabled: false } });
    expect((await service.endpointsState())[0]).toMatchObject({ disabled: false, disabledAt: null });
  });

  it('lists a dead letter and redelivers it', async () => {
    const t = transition('healthy', 'cognito_token_expired');
    await xaddTransition(redis, prefix, t);
    await eventually(async () => ((await service.deadLetterCounts())[0]?.count ?? 0) === 1, 10_000, 'dead letter');
    const id = webhookIdFor(t.id, 'app');
    const list = await call('GET', '/api/webhooks/dead-letters?endpoint=app&limit=10');
    expect(list.status).toBe(200);
    expect(list.json).toMatchObject({
      nextCursor: null,
      items: [
        {
          id,
          endpoint: 'app',
          type: 'credential.action_required',
          transitionId: t.id,
          attempts: 1,
          lastError: 'HTTP 500',
          redeliveries: 0,
          payload: { type: 'credential.action_required', data: { leafUserId: 'user-1' } },
        },
      ],
    });
    receiver.setFallback({ status: 200 });
    const redeliver = await call('POST', `/api/webhooks/dead-letters/${id}/redeliver`);
    expect(redeliver).toEqual({ status: 202, json: { id, endpoint: 'app', jobId: `${id}-r1` } });
    await receiver.waitFor(1, 10_000, (r) => r.status === 200);
    expect((await call('GET', '/api/webhooks/dead-letters')).json).toEqual({ items: [], nextCursor: null });
    expect((await call('POST', `/api/webhooks/dead-letters/${id}/redeliver`)).status).toBe(404);
    const endpoints = (await call('GET', '/api/webhooks/endpoints')).json['endpoints'] as Array<Record<string, unknown>>;
    expect(endpoints[0]).toMatchObject({ failuresInRow: 0, lastError: 'HTTP 500', deadLetters: 0 });
    expect(endpoints[0]?.['lastSuccessAt']).toEqual(expect.any(String));
  });

  it('replays since a time and lists delivery attempts, answering 400/404/409 for bad requests', async () => {
    const t = transition('healthy', 'cognito_token_expired', { leafUserId: 'route-user' });
    await xaddTransition(redis, prefix, t);
    await eventually(async () => ((await service.deadLetterCounts())[0]?.count ?? 0) === 1, 10_000, 'dead letter');
    const id = webhookIdFor(t.id, 'app');
    const attempts = await call('GET', '/api/webhooks/deliveries?endpoint=app&credential=route-user');
    expect(attempts.status).toBe(200);
    expect(attempts.json['items']).toMatchObject([
      { endpoint: 'app', webhookId: id, status: 500, error: 'HTTP 500', credential: 'panorama:route-user', probe: false },
    ]);
    expect(JSON.stringify(attempts.json)).not.toContain('query-secret');
    expect((await call('GET', '/api/webhooks/deliveries?credential=someone-else')).json).toEqual({ items: [] });

    receiver.setFallback({ status: 200 });
    const since = new Date(Date.now() - 60_000).toISOString();
    expect(await call('POST', `/api/webhooks/endpoints/app/replay?since=${since}`)).toEqual({
      status: 202,
      json: { endpoint: 'app', since, replayed: 1 },
    });
    await receiver.waitFor(1, 10_000, (r) => r.status === 200);
    expect((await service.deadLetterCounts())[0]?.count).toBe(0);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await call('POST', `/api/webhooks/endpoints/app/replay?since=${future}`)).json).toMatchObject({ replayed: 0 });

    for (const [method, path, status, parameter] of [
      ['POST', '/api/webhooks/endpoints/app/replay', 400, 'since'],
      ['POST', '/api/webhooks/endpoints/app/replay?since=yesterday', 400, 'since'],
      ['POST', '/api/webhooks/endpoints/app/replay?since=2026-01-01T00:00:00Z&x=1', 400, 'x'],
      ['GET', '/api/webhooks/deliveries?limit=0', 400, 'limit'],
      ['GET', '/api/webhooks/deliveries?endpoint=other', 400, 'endpoint'],
      ['GET', '/api/webhooks/deliveries?credential=a%20b', 400, 'credential'],
    ] as const) {
      const res = await call(method, path);
      expect(res.status, path).toBe(status);
      expect(res.json['parameter'], path).toBe(parameter);
    }
    expect((await call('POST', '/api/webhooks/endpoints/other/replay?since=2026-01-01T00:00:00Z')).status).toBe(404);
    await redis.hset(`${prefix}:webhooks:endpoint:app`, 'disabled', '1');
    expect(await call('POST', '/api/webhooks/endpoints/app/replay?since=2026-01-01T00:00:00Z')).toMatchObject({
      status: 409,
      json: { error: 'endpoint_disabled' },
    });
  });
});
