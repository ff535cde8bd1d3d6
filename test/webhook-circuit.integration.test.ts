import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WebhookEndpoint } from '../src/webhooks/endpoints.js';
import { webhookIdFor } from '../src/webhooks/dispatcher.js';
import { verifySignature } from '../src/webhooks/signing.js';
import { createWebhookService, type WebhookService, type WebhookServiceOptions } from '../src/webhooks/webhook-service.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';
import { eventually, metricValue, observability, TEST_SECRET, transition, xaddTransition } from './helpers/webhook-fixtures.js';
import { maxConcurrent, WebhookReceiver, type ReceivedRequest } from './helpers/webhook-receiver.js';

/**
 * The receiver outage of the catch-up test, in ms. The case is 60 s
 * (`CREDWATCH_TEST_OUTAGE_MS=60000 npx vitest run test/webhook-circuit.integration.test.ts`); the suite
 * runs a shorter one so it stays fast.
 */
const OUTAGE_MS = Number(process.env['CREDWATCH_TEST_OUTAGE_MS'] ?? '8000');
const TRANSITIONS = 50;
/** The production default (5 s), shortened for a short outage so probes still happen while it lasts. */
const PROBE_INTERVAL_MS = Math.min(5000, Math.floor(OUTAGE_MS / 4));

const id = (r: ReceivedRequest) => String(r.headers['webhook-id']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let prefix: string;
let redis: Redis;
let cleanup: () => Promise<void>;
const receivers: WebhookReceiver[] = [];
const services: WebhookService[] = [];

beforeEach(async () => {
  prefix = uniquePrefix('webhook-circuit');
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

function endpoint(name: string, r: WebhookReceiver): WebhookEndpoint {
  return { name, url: r.url(), secrets: [TEST_SECRET], filters: {} };
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
    tuning: { claimIdleMs: 600_000, blockMs: 200, reconcileMs: 500 },
    ...options,
  });
  services.push(s);
  await s.start();
  return { service: s, ...obs };
}

describe('endpoint circuit and catch-up', () => {
  it(
    `delivers ${TRANSITIONS} notifications once each, soon after a ${OUTAGE_MS} ms outage, probing one at a time meanwhile`,
    { timeout: OUTAGE_MS + 60_000 },
    async () => {
      const r = await receiver();
      // Production defaults: retry schedule, 5 failures open the circuit, probe every 5 s, 50/s catch-up.
      const { service: s } = await service([endpoint('app', r)], { health: { probeIntervalMs: PROBE_INTERVAL_MS } });
      const transitions = Array.from({ length: TRANSITIONS }, (_, i) =>
        transition('healthy', 'cognito_token_expired', { leafUserId: `outage-${i}` }),
      );
      const expected = transitions.map((t) => webhookIdFor(t.id, 'app')).sort();

      // First half of the outage: the receiver is up but answers 503 slowly, so the requests in flight
      // can be counted. Second half: it is stopped (connection refused). Then it comes back on its port.
      r.setFallback({ status: 503, delayMs: 150 });
      const started = Date.now();
      let stopped = false;
      for (const [i, t] of transitions.entries()) {
        const due = started + (i * OUTAGE_MS) / TRANSITIONS;
        if (due > Date.now()) await sleep(due - Date.now());
        if (!stopped && Date.now() - started >= OUTAGE_MS / 2) {
          await r.stop();
          stopped = true;
        }
        await xaddTransition(redis, prefix, t);
      }
      if (started + OUTAGE_MS > Date.now()) await sleep(started + OUTAGE_MS - Date.now());
      const view = (await s.endpointsState())[0];
      expect(view).toMatchObject({ state: 'failing' });
      expect(view?.backlog).toBe(TRANSITIONS);
      const failingSince = Date.parse(view?.failingSince ?? '');
      const duringOutage = [...r.requests];

      r.setFallback({ status: 200 });
      await r.listen();
      const back = Date.now();
      await eventually(() => new Set(r.accepted().map(id)).size === TRANSITIONS, 30_000, 'every notification delivered');
      const catchUpMs = Math.max(...r.accepted().map((q) => q.at)) - back;
      const noticedMs = Math.min(...r.accepted().map((q) => q.at)) - back;
      await sleep(1500);

      const accepted = r.accepted();
      expect(accepted.map(id).sort()).toEqual(expected);
      // While failing: one probe in flight at a time (the attempts before the circuit opened may overlap).
      const probes = duringOutage.filter((q) => q.at >= failingSince);
      expect(probes.length).toBeGreaterThan(0);
      expect(maxConcurrent(probes)).toBe(1);
      // Probing, not every message's retries: far fewer requests than notifications during the outage.
      expect(duringOutage.length).toBeLessThanOrEqual(5 + Math.ceil(OUTAGE_MS / (0.9 * PROBE_INTERVAL_MS)) + 1);
      // The delivery log sees the stopped half too (connection refused): probes never overlapped there either.
      const logged = (await s.listDeliveries({ endpoint: 'app', limit: 1000 })).filter((a) => Date.parse(a.at) < back);
      const loggedProbes = logged.filter((a) => a.probe).map((a) => ({ at: Date.parse(a.at) - a.latencyMs, answeredAt: Date.parse(a.at) }));
      expect(loggedProbes.length).toBeGreaterThanOrEqual(Math.floor(OUTAGE_MS / 2 / (1.1 * PROBE_INTERVAL_MS)));
      expect(maxConcurrent(loggedProbes)).toBe(1);
      // Non-probe attempts: the 5 that opened the circuit, plus any already in flight at that moment.
      expect(logged.filter((a) => !a.probe).length).toBeGreaterThanOrEqual(5);
      expect(logged.filter((a) => !a.probe).length).toBeLessThanOrEqual(5 + 4);
      expect(catchUpMs).toBeLessThanOrEqual(10_000);
      for (const q of accepted) {
        const first = [...duringOutage, ...accepted].find((o) => id(o) === id(q));
        expect(q.body).toBe(first?.body);
        const timestamp = Number(q.headers['webhook-timestamp']);
        expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(15);
        expect(
          verifySignature({
            secrets: [TEST_SECRET],
            msgId: id(q),
            timestamp,
            body: q.body,
            header: String(q.headers['webhook-signature']),
          }),
        ).toBe(true);
      }
      expect((await s.endpointsState())[0]).toMatchObject({ state: 'healthy', failuresInRow: 0, waiting: 0, backlog: 0, deadLetters: 0 });
      process.stdout.write(
        `[webhook-circuit] outage ${OUTAGE_MS} ms, ${TRANSITIONS} transitions: ${logged.length} attempts during the outage (${loggedProbes.length} probes; ` +
          `${duringOutage.length} reached the receiver while it answered 503), ` +
          `catch-up ${catchUpMs} ms after the receiver's return (first success after ${noticedMs} ms, then ${catchUpMs - noticedMs} ms for the rest)\n`,
      );
    },
  );

  it('opens after N failures in a row, shows it in metrics, and an operator enable releases the waiting deliveries at once', async () => {
    const r = await receiver();
    r.setFallback({ status: 500 });
    const { service: s, metrics } = await service([endpoint('app', r)], { health: { failureThreshold: 2, probeIntervalMs: 60_000 } });
    for (let i = 0; i < 6; i += 1)
      await xaddTransition(redis, prefix, transition('healthy', 'missing_permission', { leafUserId: `enable-${i}` }));
    await eventually(async () => (await s.endpointsState())[0]?.state === 'failing', 10_000, 'endpoint failing');
    await eventually(async () => ((await s.endpointsState())[0]?.waiting ?? 0) >= 4, 10_000, 'deliveries waiting');
    const requestsWhileFailing = r.requests.length;
    await sleep(1000);
    // Nobody but the probe (every 60 s here) calls the failing endpoint.
    expect(r.requests.length).toBe(requestsWhileFailing);
    metrics.setScrapeSources({
      credentialCounts: async () => [],
      oldestPollAges: async () => [],
      lastSweepSuccess: async () => undefined,
      queueCounts: async () => [],
      deadLetters: () => s.deadLetterCounts(),
      webhookEndpoints: () => s.endpointHealth(),
    });
    expect(await metricValue(metrics, 'credwatch_webhook_endpoint_state', { endpoint: 'app', state: 'failing' })).toBe(1);
    expect(await metricValue(metrics, 'credwatch_webhook_endpoint_state', { endpoint: 'app', state: 'healthy' })).toBe(0);
    expect(await metricValue(metrics, 'credwatch_webhook_backlog', { endpoint: 'app' })).toBe(6);

    r.setFallback({ status: 200 });
    await s.enableEndpoint('app');
    // Every waiting delivery, the probe (whose timer says 60 s) and the delivery that failed before the
    // circuit opened (its own retry timer says 5 s) go out at once.
    const enabledAt = Date.now();
    await eventually(() => new Set(r.accepted().map(id)).size === 6, 10_000, 'waiting deliveries released');
    expect(Math.max(...r.accepted().map((q) => q.at)) - enabledAt).toBeLessThan(1500);
    expect((await s.endpointsState())[0]).toMatchObject({ state: 'healthy' });
    expect(await metricValue(metrics, 'credwatch_webhook_endpoint_state', { endpoint: 'app', state: 'healthy' })).toBe(1);
  });

  it('a 410 on the probe still disables the endpoint and sends every waiting delivery to the dead letters', async () => {
    const r = await receiver();
    r.setFallback({ status: 500 });
    const { service: s } = await service([endpoint('app', r)], {
      retrySchedule: [300, 60_000],
      health: { failureThreshold: 2, probeIntervalMs: 400 },
    });
    for (let i = 0; i < 5; i += 1)
      await xaddTransition(redis, prefix, transition('healthy', 'missing_permission', { leafUserId: `gone-${i}` }));
    await eventually(async () => ((await s.endpointsState())[0]?.waiting ?? 0) >= 3, 10_000, 'deliveries waiting');
    r.setFallback({ status: 410 });
    await eventually(async () => ((await s.deadLetterCounts())[0]?.count ?? 0) === 5, 10_000, 'every delivery dead-lettered');
    const sent = r.requests.length;
    await sleep(800);
    expect(r.requests.length).toBe(sent);
    expect(r.requests.filter((q) => q.status === 410)).toHaveLength(1);
    expect((await s.endpointsState())[0]).toMatchObject({ state: 'disabled', disabled: true, waiting: 0, backlog: 0 });
    const reasons = (await s.listDeadLetters({ limit: 10 })).items.map((d) => d.lastError).sort();
    expect(reasons).toEqual(['HTTP 410', ...Array<string>(4).fill('endpoint disabled (it answered 410 Gone)')]);
  });

  it('replays exactly the notifications since a time, dead letters included, with their webhook-ids and bodies', async () => {
    const r = await receiver();
    const { service: s } = await service([endpoint('app', r)], { retrySchedule: [], health: { failureThreshold: 100 } });
    const before = [0, 1, 2].map((i) => transition('healthy', 'cognito_token_expired', { leafUserId: `before-${i}` }));
    for (const t of before) await xaddTransition(redis, prefix, t);
    await r.waitFor(3);
    await sleep(50);
    const since = Date.now();
    await sleep(50);
    const after = [0, 1, 2].map((i) => transition('healthy', 'cognito_token_expired', { leafUserId: `after-${i}` }));
    r.respondWith({ status: 200 }, { status: 500 }, { status: 200 });
    for (const t of after) {
      await xaddTransition(redis, prefix, t);
      await r.waitFor(r.requests.length + 1);
    }
    await eventually(async () => ((await s.deadLetterCounts())[0]?.count ?? 0) === 1, 5000, 'one dead letter');
    const firstBodies = new Map(r.requests.map((q) => [id(q), q.body]));
    const sent = r.requests.length;

    expect(await s.replay('app', since)).toEqual({ endpoint: 'app', since: new Date(since).toISOString(), replayed: 3 });
    const all = await r.waitFor(sent + 3);
    await sleep(800);
    const replayed = r.requests.slice(sent);
    expect(replayed.map(id).sort()).toEqual(after.map((t) => webhookIdFor(t.id, 'app')).sort());
    for (const q of replayed) expect(q.body).toBe(firstBodies.get(id(q)));
    expect(all.length).toBe(sent + 3);
    expect((await s.deadLetterCounts())[0]?.count).toBe(0);

    const attempts = await s.listDeliveries({ endpoint: 'app' });
    expect(attempts).toHaveLength(9);
    expect(attempts.filter((a) => a.status === 500)).toMatchObject([{ error: 'HTTP 500', probe: false, endpoint: 'app' }]);
    const aboutOne = await s.listDeliveries({ credential: 'after-1' });
    expect(aboutOne.map((a) => a.status)).toEqual([200, 500]);
    expect(aboutOne[0]).toMatchObject({
      credential: 'panorama:after-1',
      credentialId: 'cred-1',
      webhookId: webhookIdFor(after[1]?.id ?? '', 'app'),
    });
    expect(aboutOne.every((a) => typeof a.latencyMs === 'number' && !Number.isNaN(Date.parse(a.at)))).toBe(true);
  });
});
