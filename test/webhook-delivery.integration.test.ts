import type { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCredwatchError } from '../src/errors.js';
import { OUTBOX_STREAM } from '../src/monitor/transition.js';
import type { WebhookEndpoint } from '../src/webhooks/endpoints.js';
import { webhookIdFor } from '../src/webhooks/dispatcher.js';
import { deliveryQueueName } from '../src/webhooks/delivery.processor.js';
import { verifySignature } from '../src/webhooks/signing.js';
import { createWebhookService, type WebhookService, type WebhookServiceOptions } from '../src/webhooks/webhook-service.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';
import { eventually, metricValue, observability, TEST_SECRET, transition, xaddTransition } from './helpers/webhook-fixtures.js';
import { WebhookReceiver, type ReceivedRequest } from './helpers/webhook-receiver.js';

interface Body {
  type: string;
  data: { category: string; previousCategory: string | null; leafUserId: string };
}
const parse = (r: ReceivedRequest) => JSON.parse(r.body) as Body;
const header = (r: ReceivedRequest, name: string) => String(r.headers[name] ?? '');

let prefix: string;
let redis: Redis;
let cleanup: () => Promise<void>;
const receivers: WebhookReceiver[] = [];
const services: WebhookService[] = [];

beforeEach(async () => {
  prefix = uniquePrefix('webhooks');
  ({ redis, cleanup } = await testRedis(prefix));
});

afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
  for (const r of receivers.splice(0)) await r.stop();
  await cleanup();
});

async function receiver(): Promise<WebhookReceiver> {
  const r = await WebhookReceiver.start();
  receivers.push(r);
  return r;
}

function endpoint(name: string, r: WebhookReceiver, extra: Partial<WebhookEndpoint> = {}): WebhookEndpoint {
  return { name, url: r.url(`/hook?token=url-query-secret`), secrets: [TEST_SECRET], filters: {}, ...extra };
}

async function service(endpoints: WebhookEndpoint[], options: Partial<WebhookServiceOptions> = {}) {
  const obs = observability(endpoints.map((e) => e.name));
  const s = createWebhookService({
    redis,
    prefix,
    endpoints,
    timeoutMs: 5000,
    cooldownMs: 3_600_000,
    notifyUnclassified: false,
    metrics: obs.metrics,
    logger: obs.logger,
    retrySchedule: [100, 100, 100],
    tuning: { claimIdleMs: 600_000, blockMs: 200, random: () => 0.5 },
    ...options,
  });
  services.push(s);
  await s.start();
  return { service: s, ...obs };
}

describe('webhook service against a real receiver and Redis', () => {
  it('sends one signed webhook per notifying transition, and nothing for the others', async () => {
    const r = await receiver();
    const { lines, metrics } = await service([endpoint('app', r)]);
    const broken = transition('healthy', 'cognito_token_expired');
    const transient = transition('cognito_token_expired', 'provider_unavailable');
    const healed = transition('provider_unavailable', 'healthy');
    const healthyFirst = transition(null, 'healthy', { leafUserId: 'user-2' });
    for (const t of [broken, transient, healed, healthyFirst]) await xaddTransition(redis, prefix, t);
    // The same transition read twice (a monitor retrying its write) must not notify twice.
    await xaddTransition(redis, prefix, broken);

    // Two deliveries may run in parallel: order them by type (action_required sorts first).
    const got = [...(await r.waitFor(2))].sort((a, b) => parse(a).type.localeCompare(parse(b).type));
    await new Promise((res) => setTimeout(res, 800));
    expect(r.requests).toHaveLength(2);
    expect(got.map((q) => parse(q).type)).toEqual(['credential.action_required', 'credential.recovered']);
    expect(got.map((q) => header(q, 'webhook-id'))).toEqual([webhookIdFor(broken.id, 'app'), webhookIdFor(healed.id, 'app')]);
    for (const q of got) {
      expect(q.method).toBe('POST');
      expect(header(q, 'content-type')).toBe('application/json');
      expect(header(q, 'user-agent')).toMatch(/^credwatch\//);
      const timestamp = Number(header(q, 'webhook-timestamp'));
      expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(30);
      expect(
        verifySignature({
          secrets: [TEST_SECRET],
          msgId: header(q, 'webhook-id'),
          timestamp,
          body: q.body,
          header: header(q, 'webhook-signature'),
        }),
      ).toBe(true);
      expect(q.body).not.toContain('secret-refresh-value');
    }
    expect(parse(got[1] as ReceivedRequest).data).toMatchObject({ category: 'healthy', previousCategory: 'provider_unavailable' });
    expect(await redis.xlen(`${prefix}:${OUTBOX_STREAM}`)).toBe(0);
    expect(
      await metricValue(metrics, 'credwatch_webhook_deliveries_total', {
        endpoint: 'app',
        event: 'credential.action_required',
        outcome: 'delivered',
      }),
    ).toBe(1);
    expect(
      await metricValue(metrics, 'credwatch_webhook_deliveries_total', {
        endpoint: 'app',
        event: 'credential.recovered',
        outcome: 'delivered',
      }),
    ).toBe(1);
    const joined = lines.join('');
    expect(joined).not.toContain('url-query-secret');
    expect(joined).not.toContain(TEST_SECRET);
    expect(joined).not.toContain('secret-refresh-value');
  });

  it('drops, with an error logged, a transition whose body can never fit in 8 KiB', async () => {
    const r = await receiver();
    const { lines } = await service([endpoint('app', r)]);
    await xaddTransition(redis, prefix, transition('healthy', 'cognito_token_expired', { leafUserId: 'u'.repeat(9000) }));
    await xaddTransition(redis, prefix, transition('healthy', 'cognito_token_expired'));
    await r.waitFor(1);
    await eventually(async () => (await redis.xlen(`${prefix}:${OUTBOX_STREAM}`)) === 0, 5000, 'outbox drained');
    expect(r.requests).toHaveLength(1);
    expect(lines.some((l) => l.includes('"level":"error"') && l.includes('too large'))).toBe(true);
  });

  it('sends nothing new when a category flaps back within the cool-down', async () => {
    const r = await receiver();
    await service([endpoint('app', r)]);
    for (const [from, to] of [
      ['healthy', 'cognito_token_expired'],
      ['cognito_token_expired', 'provider_unavailable'],
      ['provider_unavailable', 'cognito_token_expired'],
      ['cognito_token_expired', 'unclassified'],
      ['unclassified', 'cognito_token_expired'],
    ] as const) {
      await xaddTransition(redis, prefix, transition(from, to));
    }
    await eventually(async () => (await redis.xlen(`${prefix}:${OUTBOX_STREAM}`)) === 0, 10_000, 'outbox drained');
    await new Promise((res) => setTimeout(res, 500));
    expect(r.requests.map((q) => parse(q).data.category)).toEqual(['cognito_token_expired']);
  });

  it('applies endpoint filters', async () => {
    const all = await receiver();
    const prodExpiredOnly = await receiver();
    await service([
      endpoint('all', all),
      endpoint('expired', prodExpiredOnly, {
        filters: { categories: ['cognito_token_expired'], environments: ['PRODUCTION'], events: ['credential.action_required'] },
      }),
    ]);
    await xaddTransition(redis, prefix, transition('healthy', 'cognito_token_expired', { leafUserId: 'u-a' }));
    await xaddTransition(redis, prefix, transition('healthy', 'cognito_token_expired', { leafUserId: 'u-b', clientEnvironment: 'STAGE' }));
    await xaddTransition(redis, prefix, transition('healthy', 'missing_permission', { leafUserId: 'u-c' }));
    await xaddTransition(redis, prefix, transition('cognito_token_expired', 'healthy', { leafUserId: 'u-a' }));
    await all.waitFor(4);
    await new Promise((res) => setTimeout(res, 500));
    expect(prodExpiredOnly.requests.map((q) => parse(q).data.leafUserId)).toEqual(['u-a']);
  });

  it('never enqueues twice for a re-read transition, even after the delivery job was removed', async () => {
    const r = await receiver();
    const { service: s } = await service([endpoint('app', r)]);
    const t = transition('healthy', 'environment_mismatch');
    await xaddTransition(redis, prefix, t);
    await r.waitFor(1);
    const queue = new Queue(deliveryQueueName('app'), { connection: redis, prefix });
    await eventually(async () => (await queue.getJobCounts('completed')).completed === 1, 5000, 'job completed');
    await queue.clean(0, 100, 'completed');
    expect((await queue.getJobCounts('completed')).completed).toBe(0);
    await xaddTransition(redis, prefix, t);
    await eventually(async () => (await redis.xlen(`${prefix}:${OUTBOX_STREAM}`)) === 0, 5000, 'outbox drained');
    await new Promise((res) => setTimeout(res, 500));
    expect(r.requests).toHaveLength(1);
    await queue.close();
    expect((await s.endpointsState())[0]).toMatchObject({
      name: 'app',
      url: `http://127.0.0.1:${r.port}/hook`,
      failuresInRow: 0,
      disabled: false,
    });
  });

  it('takes over entries a dead consumer left pending and forgets idle consumers', async () => {
    const r = await receiver();
    const stream = `${prefix}:${OUTBOX_STREAM}`;
    await redis.xgroup('CREATE', stream, 'webhooks', '0', 'MKSTREAM');
    const t = transition('healthy', 'cognito_token_expired');
    await xaddTransition(redis, prefix, t);
    // A consumer that read the entry and died before handling it.
    await redis.call('XREADGROUP', 'GROUP', 'webhooks', 'dead-consumer', 'COUNT', '10', 'STREAMS', stream, '>');
    await service([endpoint('app', r)], { tuning: { claimIdleMs: 300, blockMs: 100 } });
    const [q] = await r.waitFor(1, 10_000);
    expect(header(q as ReceivedRequest, 'webhook-id')).toBe(webhookIdFor(t.id, 'app'));
    const consumers = async () =>
      ((await redis.call('XINFO', 'CONSUMERS', stream, 'webhooks')) as unknown[][]).map((row) => String(row[row.indexOf('name') + 1]));
    expect(await consumers()).toContain('dead-consumer');
    await eventually(async () => !(await consumers()).includes('dead-consumer'), 10_000, 'idle consumer forgotten');
    expect(await consumers()).toHaveLength(1);
  });

  it('retries while the receiver is down and delivers once when it is back', async () => {
    const r = await receiver();
    await r.stop();
    const { service: s } = await service([endpoint('app', r)], { retrySchedule: [300, 300, 300, 300, 300, 300, 300, 300] });
    const t = transition('healthy', 'wrong_organization_code');
    await xaddTransition(redis, prefix, t);
    await eventually(async () => ((await s.endpointsState())[0]?.failuresInRow ?? 0) >= 2, 10_000, 'two failed attempts');
    const state = (await s.endpointsState())[0];
    expect(state?.lastError).toMatch(/network error ECONNREFUSED/);
    expect(state?.lastSuccessAt).toBeNull();
    await r.listen();
    const [delivered] = await r.waitFor(1);
    await new Promise((res) => setTimeout(res, 1000));
    expect(r.requests).toHaveLength(1);
    expect(header(delivered as ReceivedRequest, 'webhook-id')).toBe(webhookIdFor(t.id, 'app'));
    expect((await s.endpointsState())[0]).toMatchObject({ failuresInRow: 0, disabled: false });
  });

  it('retries a 500 with the same webhook-id and a fresh timestamp and signature', async () => {
    const r = await receiver();
    r.respondWith({ status: 500, body: 'boom' });
    const { metrics } = await service([endpoint('app', r)], { retrySchedule: [1200] });
    await xaddTransition(redis, prefix, transition('healthy', 'missing_permission'));
    const [first, second] = await r.waitFor(2);
    if (!first || !second) throw new Error('expected two requests');
    expect([first.status, second.status]).toEqual([500, 200]);
    expect(header(second, 'webhook-id')).toBe(header(first, 'webhook-id'));
    expect(second.body).toBe(first.body);
    expect(Number(header(second, 'webhook-timestamp'))).toBeGreaterThan(Number(header(first, 'webhook-timestamp')));
    expect(header(second, 'webhook-signature')).not.toBe(header(first, 'webhook-signature'));
    expect(second.at - first.at).toBeGreaterThanOrEqual(1080 - 50);
    const outcome = (o: string) =>
      metricValue(metrics, 'credwatch_webhook_deliveries_total', { endpoint: 'app', event: 'credential.action_required', outcome: o });
    await eventually(async () => (await outcome('delivered')) === 1, 5000, 'delivered counted');
    expect(await outcome('retrying')).toBe(1);
  });

  it('does not follow redirects: a 3xx is a failed attempt', async () => {
    const r = await receiver();
    r.respondWith({ status: 302, headers: { location: r.url('/elsewhere') } });
    await service([endpoint('app', r)], { retrySchedule: [100] });
    await xaddTransition(redis, prefix, transition('healthy', 'missing_permission'));
    const requests = await r.waitFor(2);
    expect(requests.map((q) => [q.path.split('?')[0], q.status])).toEqual([
      ['/hook', 302],
      ['/hook', 200],
    ]);
  });

  it('honours Retry-After on 429 over a shorter scheduled delay', async () => {
    const r = await receiver();
    r.respondWith({ status: 429, headers: { 'retry-after': '2' } });
    await service([endpoint('app', r)], { retrySchedule: [50] });
    await xaddTransition(redis, prefix, transition('healthy', 'not_connected', { credentialId: null, clientEnvironment: null }));
    const [first, second] = await r.waitFor(2, 10_000);
    if (!first || !second) throw new Error('expected two requests');
    expect(second.at - first.at).toBeGreaterThanOrEqual(2000 - 50);
  });

  it('disables an endpoint answering 410 and dead-letters later deliveries without calling it', async () => {
    const r = await receiver();
    r.respondWith({ status: 410 });
    const { service: s, metrics, lines } = await service([endpoint('app', r)]);
    await xaddTransition(redis, prefix, transition('healthy', 'cognito_token_expired'));
    await r.waitFor(1);
    await eventually(async () => (await s.endpointsState())[0]?.disabled === true, 5000, 'endpoint disabled');
    expect(await metricValue(metrics, 'credwatch_webhook_endpoint_disabled', { endpoint: 'app' })).toBe(1);
    await eventually(() => lines.some((l) => l.includes('"level":"warn"') && l.includes('410')), 5000, 'warning logged');
    await xaddTransition(redis, prefix, transition('healthy', 'missing_permission', { leafUserId: 'user-9' }));
    await eventually(async () => ((await s.deadLetterCounts())[0]?.count ?? 0) === 2, 5000, 'two dead letters');
    expect(r.requests).toHaveLength(1);
    const page = await s.listDeadLetters({ endpoint: 'app', limit: 10 });
    expect(page.items.map((d) => d.lastError).sort()).toEqual(['HTTP 410', 'endpoint disabled (it answered 410 Gone)']);
    await s.enableEndpoint('app');
    expect(await metricValue(metrics, 'credwatch_webhook_endpoint_disabled', { endpoint: 'app' })).toBe(0);
    expect((await s.endpointsState())[0]?.disabled).toBe(false);
  });

  it('keeps a slow endpoint from delaying another', async () => {
    const slow = await receiver();
    const fast = await receiver();
    slow.setFallback({ status: 200, delayMs: 4000 });
    await service([endpoint('slow', slow), endpoint('fast', fast)], { tuning: { claimIdleMs: 600_000, blockMs: 200, concurrency: 1 } });
    const sentAt = Date.now();
    for (let i = 0; i < 3; i += 1)
      await xaddTransition(redis, prefix, transition('healthy', 'cognito_token_expired', { leafUserId: `slow-${i}` }));
    const fastGot = await fast.waitFor(3, 10_000);
    const fastDone = Math.max(...fastGot.map((q) => q.at)) - sentAt;
    expect(slow.accepted()).toHaveLength(0);
    expect(fastDone).toBeLessThan(3000);
  });

  it('dead-letters an exhausted delivery, lists it, and redelivers it with the same webhook-id', async () => {
    const r = await receiver();
    r.setFallback({ status: 500 });
    const { service: s, metrics } = await service([endpoint('app', r)], { retrySchedule: [50, 50] });
    const t = transition('healthy', 'cognito_token_expired');
    await xaddTransition(redis, prefix, t);
    await eventually(async () => ((await s.deadLetterCounts())[0]?.count ?? 0) === 1, 10_000, 'dead letter');
    expect(r.requests).toHaveLength(3);
    const page = await s.listDeadLetters({ limit: 10 });
    const id = webhookIdFor(t.id, 'app');
    expect(page).toMatchObject({
      nextCursor: null,
      items: [{ id, endpoint: 'app', attempts: 3, lastError: 'HTTP 500', transitionId: t.id, redeliveries: 0 }],
    });
    expect(
      await metricValue(metrics, 'credwatch_webhook_deliveries_total', {
        endpoint: 'app',
        event: 'credential.action_required',
        outcome: 'dead_lettered',
      }),
    ).toBe(1);

    r.setFallback({ status: 204 });
    const result = await s.redeliver(id);
    expect(result).toEqual({ id, endpoint: 'app', jobId: `${id}-r1` });
    const all = await r.waitFor(4);
    const last = all[3] as ReceivedRequest;
    expect(last.status).toBe(204);
    expect(header(last, 'webhook-id')).toBe(id);
    expect(last.body).toBe(all[0]?.body);
    expect((await s.listDeadLetters({ limit: 10 })).items).toEqual([]);
    await expect(s.redeliver(id)).rejects.toSatisfy((e: unknown) => isCredwatchError(e, 'DEAD_LETTER_NOT_FOUND'));
  });

  it('pages dead letters newest first with a cursor', async () => {
    const r = await receiver();
    r.setFallback({ status: 500 });
    const { service: s } = await service([endpoint('app', r)], { retrySchedule: [] });
    for (let i = 0; i < 5; i += 1)
      await xaddTransition(redis, prefix, transition('healthy', 'cognito_token_expired', { leafUserId: `u${i}` }));
    await eventually(async () => ((await s.deadLetterCounts())[0]?.count ?? 0) === 5, 10_000, 'five dead letters');
    const first = await s.listDeadLetters({ limit: 2 });
    const second = await s.listDeadLetters({ limit: 2, cursor: first.nextCursor ?? '' });
    const third = await s.listDeadLetters({ limit: 2, cursor: second.nextCursor ?? '' });
    expect([first.items.length, second.items.length, third.items.length, third.nextCursor]).toEqual([2, 2, 1, null]);
    const ids = [...first.items, ...second.items, ...third.items].map((d) => d.id);
    expect(new Set(ids).size).toBe(5);
    const times = [...first.items, ...second.items, ...third.items].map((d) => Date.parse(d.failedAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    await expect(s.listDeadLetters({ endpoint: 'nope', limit: 2 })).rejects.toSatisfy((e: unknown) =>
      isCredwatchError(e, 'WEBHOOK_ENDPOINT_UNKNOWN'),
    );
  });
});
