import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeliveryLog, type DeliveryAttempt } from '../src/webhooks/delivery-log.js';
import { createNotificationRecord } from '../src/webhooks/notification-record.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';

let prefix: string;
let redis: Redis;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  prefix = uniquePrefix('webhook-records');
  ({ redis, cleanup } = await testRedis(prefix));
});

afterEach(async () => {
  await cleanup();
});

const note = (i: number, atMs: number) => ({
  webhookId: `msg_${String(i).padStart(32, '0')}`,
  type: 'credential.action_required' as const,
  transitionId: `t-${i}`,
  body: `{"n":${i}}`,
  atMs,
});

describe('replay record and delivery log bounds in Redis', () => {
  it('keeps at most maxPerEndpoint notifications, dropping the oldest, and answers since a time', async () => {
    const record = createNotificationRecord(redis, prefix, { maxPerEndpoint: 10, retentionMs: 86_400_000 });
    const base = Date.now();
    for (let i = 0; i < 14; i += 1) await record.record('app', note(i, base + i));
    await record.record('app', note(13, base + 99)); // a repeat keeps its first time
    expect(await record.count('app')).toBe(10);
    expect(await redis.hlen(`${prefix}:webhooks:sent-bodies:app`)).toBe(10);
    const since = await record.since('app', base + 10);
    expect(since.map((n) => n.transitionId)).toEqual(['t-10', 't-11', 't-12', 't-13']);
    expect(since[0]).toEqual(note(10, base + 10));
    expect(await record.since('other', 0)).toEqual([]);
  });

  it('drops notifications older than the retention on the next write', async () => {
    const record = createNotificationRecord(redis, prefix, { maxPerEndpoint: 100, retentionMs: 60_000 });
    const now = Date.now();
    await record.record('app', note(1, now - 120_000));
    await record.record('app', note(2, now - 30_000));
    await record.record('app', note(3, now));
    expect((await record.since('app', 0)).map((n) => n.transitionId)).toEqual(['t-2', 't-3']);
    expect(await redis.hlen(`${prefix}:webhooks:sent-bodies:app`)).toBe(2);
  });

  it('keeps the newest attempts per endpoint and filters by credential', async () => {
    const log = createDeliveryLog(redis, prefix, 5);
    const attempt = (i: number, endpoint: string, user: string): DeliveryAttempt => ({
      at: new Date(Date.UTC(2026, 10, 2, 10, 0, i)).toISOString(),
      endpoint,
      webhookId: `msg_${i}`,
      type: 'credential.action_required',
      transitionId: `t-${i}`,
      credential: `panorama:${user}`,
      credentialId: `cred-${user}`,
      status: i % 2 === 0 ? 200 : null,
      latencyMs: i,
      error: i % 2 === 0 ? null : 'network error ECONNREFUSED',
      probe: false,
    });
    for (let i = 0; i < 8; i += 1) await log.add(attempt(i, 'app', i < 4 ? 'u-a' : 'u-b'));
    await log.add(attempt(20, 'ops', 'u-a'));
    expect(await redis.llen(`${prefix}:webhooks:attempts:app`)).toBe(5);
    const all = await log.list({ endpoints: ['app', 'ops'], limit: 100 });
    expect(all.map((a) => a.webhookId)).toEqual(['msg_20', 'msg_7', 'msg_6', 'msg_5', 'msg_4', 'msg_3']);
    expect((await log.list({ endpoints: ['app', 'ops'], credential: 'u-a', limit: 100 })).map((a) => a.webhookId)).toEqual([
      'msg_20',
      'msg_3',
    ]);
    expect((await log.list({ endpoints: ['app'], credential: 'cred-u-b', limit: 2 })).map((a) => a.webhookId)).toEqual(['msg_7', 'msg_6']);
    expect((await log.list({ endpoints: ['app'], credential: 'panorama:u-a', limit: 100 })).map((a) => a.webhookId)).toEqual(['msg_3']);
  });
});
