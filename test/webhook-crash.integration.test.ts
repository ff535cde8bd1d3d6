import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webhookIdFor } from '../src/webhooks/dispatcher.js';
import { verifySignature } from '../src/webhooks/signing.js';
import { testRedis, testRedisUrl, uniquePrefix } from './helpers/redis.js';
import { startWebhookChild, type WebhookChild } from './helpers/webhook-child.js';
import { eventually, TEST_SECRET, transition, xaddTransition } from './helpers/webhook-fixtures.js';
import { WebhookReceiver, type ReceivedRequest } from './helpers/webhook-receiver.js';

const id = (r: ReceivedRequest) => String(r.headers['webhook-id']);

let prefix: string;
let redis: Redis;
let cleanup: () => Promise<void>;
let receiver: WebhookReceiver;
const children: WebhookChild[] = [];

beforeEach(async () => {
  prefix = uniquePrefix('webhook-crash');
  ({ redis, cleanup } = await testRedis(prefix));
  receiver = await WebhookReceiver.start();
});

afterEach(async () => {
  for (const c of children.splice(0)) await c.kill();
  await receiver.stop();
  await cleanup();
});

async function child(extra: Record<string, string> = {}): Promise<WebhookChild> {
  const c = await startWebhookChild({ redisUrl: testRedisUrl(), prefix, endpointUrl: receiver.url(), secret: TEST_SECRET, extra });
  children.push(c);
  return c;
}

function countById(requests: ReceivedRequest[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of requests) counts.set(id(r), (counts.get(id(r)) ?? 0) + 1);
  return counts;
}

describe('webhook delivery across kill -9', () => {
  it('delivers exactly once (same webhook-id) when the process dies while the receiver holds the request', async () => {
    receiver.respondWith({ status: 200, delayMs: 10_000 });
    const first = await child();
    const t1 = transition('healthy', 'cognito_token_expired', { leafUserId: 'crash-1' });
    await xaddTransition(redis, prefix, t1);
    const [held] = await receiver.waitFor(1, 10_000, () => true, 'arrivals');
    await first.kill();

    const second = await child();
    const t2 = transition('healthy', 'missing_permission', { leafUserId: 'crash-2' });
    const t3 = transition('cognito_token_expired', 'healthy', { leafUserId: 'crash-1' });
    await xaddTransition(redis, prefix, t2);
    await xaddTransition(redis, prefix, t3);
    await receiver.waitFor(3, 20_000, (r) => r.status === 200);
    await new Promise((r) => setTimeout(r, 1500));
    await second.kill();

    const expected = [t1, t2, t3].map((t) => webhookIdFor(t.id, 'app')).sort();
    const accepted = receiver.accepted();
    expect([...countById(accepted).keys()].sort()).toEqual(expected);
    expect([...countById(accepted).values()]).toEqual([1, 1, 1]);
    // The interrupted attempt and its redelivery share webhook-id and body: the receiver can dedupe.
    expect(id(held as ReceivedRequest)).toBe(webhookIdFor(t1.id, 'app'));
    const redelivered = accepted.find((r) => id(r) === id(held as ReceivedRequest));
    expect(redelivered?.body).toBe(held?.body);
    for (const r of accepted) {
      const timestamp = Number(r.headers['webhook-timestamp']);
      expect(
        verifySignature({ secrets: [TEST_SECRET], msgId: id(r), timestamp, body: r.body, header: String(r.headers['webhook-signature']) }),
      ).toBe(true);
    }
  });

  it('notifies every transition once per webhook-id when killed at arbitrary points of dispatching', async () => {
    receiver.setFallback({ status: 200, delayMs: 20 });
    const transitions = Array.from({ length: 40 }, (_, i) => transition('healthy', 'cognito_token_expired', { leafUserId: `bulk-${i}` }));
    let running = await child();
    let next = 0;
    const unfinishedAtKill: number[] = [];
    for (const delay of [150, 90, 220]) {
      for (const end = next + 10; next < end; next += 1)
        await xaddTransition(redis, prefix, transitions[next] as (typeof transitions)[number]);
      await new Promise((r) => setTimeout(r, delay));
      unfinishedAtKill.push(next - new Set(receiver.accepted().map(id)).size);
      await running.kill();
      running = await child();
    }
    for (; next < transitions.length; next += 1) await xaddTransition(redis, prefix, transitions[next] as (typeof transitions)[number]);
    const expected = transitions.map((t) => webhookIdFor(t.id, 'app'));
    await eventually(() => new Set(receiver.accepted().map(id)).size === expected.length, 30_000, 'every transition delivered');
    await eventually(async () => (await redis.xlen(`${prefix}:outbox`)) === 0, 10_000, 'outbox drained');
    await new Promise((r) => setTimeout(r, 1500));

    // The kills really interrupted work: transitions were still undelivered each time.
    expect(unfinishedAtKill.every((n) => n > 0)).toBe(true);
    const counts = countById(receiver.accepted());
    expect([...counts.keys()].sort()).toEqual([...expected].sort());
    // One kill can interrupt at most one in-flight request (concurrency 1) after the receiver answered
    // but before the job was marked done: at most one repeat per kill, always with the same webhook-id.
    const repeats = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
    expect(repeats).toBeLessThanOrEqual(3);
  });

  it('loses and doubles nothing when killed -9 during the catch-up after an outage', async () => {
    // Two failures open the circuit; probe every 300 ms; the schedule spans a minute (the give-up age).
    const extra = { CHILD_FAILURE_THRESHOLD: '2', CHILD_PROBE_INTERVAL_MS: '300', CHILD_RATE: '0', CHILD_RETRY_SCHEDULE: '200,200,60000' };
    await receiver.stop();
    const first = await child(extra);
    const transitions = Array.from({ length: 30 }, (_, i) =>
      transition('healthy', 'cognito_token_expired', { leafUserId: `catch-up-${i}` }),
    );
    for (const t of transitions) await xaddTransition(redis, prefix, t);
    await eventually(
      async () => (await redis.zcard(`${prefix}:webhooks:waiting:app`)) >= 28,
      15_000,
      'deliveries waiting for the endpoint',
    );

    receiver.setFallback({ status: 200, delayMs: 40 });
    await receiver.listen();
    await receiver.waitFor(8, 15_000, (r) => r.status === 200);
    const deliveredAtKill = new Set(receiver.accepted().map(id)).size;
    await first.kill();
    await child(extra);

    const expected = transitions.map((t) => webhookIdFor(t.id, 'app'));
    await eventually(() => new Set(receiver.accepted().map(id)).size === expected.length, 30_000, 'every transition delivered');
    await new Promise((r) => setTimeout(r, 1500));
    expect(deliveredAtKill).toBeLessThan(expected.length);
    const counts = countById(receiver.accepted());
    expect([...counts.keys()].sort()).toEqual([...expected].sort());
    // Concurrency 1: the kill can interrupt at most the one request in flight after the receiver
    // accepted it; that repeat carries the same webhook-id. Nothing else is sent twice.
    const repeats = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
    expect(repeats).toBeLessThanOrEqual(1);
    expect(await redis.zcard(`${prefix}:webhooks:waiting:app`)).toBe(0);
  });
});
