import type { Redis } from 'ioredis';
import { loadLuaScript } from '../core/lua-script.js';
import type { WebhookEventType } from '../core/webhook-event-types.js';

/** One notification sent (or being sent) to an endpoint, kept for replay. */
export interface RecordedNotification {
  webhookId: string;
  type: WebhookEventType;
  transitionId: string;
  /** The exact body bytes that were signed and sent. */
  body: string;
  /** Unix ms the notification was enqueued. */
  atMs: number;
}

/** How many notifications per endpoint are kept for replay, and for how long. */
export interface NotificationRecordLimits {
  maxPerEndpoint: number;
  retentionMs: number;
}

/** Records one notification and trims the record by age and count (scripts/record-notification.lua). */
const RECORD = loadLuaScript(new URL('./scripts/record-notification.lua', import.meta.url));

/**
 * A bounded, time-indexed record of the notifications of each endpoint (delivered or not), so an
 * operator can replay everything since a time to a receiver that lost its data. Per endpoint: a sorted
 * set webhook id → enqueue time and a hash webhook id → body; trimmed on every write to
 * `maxPerEndpoint` entries and `retentionMs` of age.
 */
export function createNotificationRecord(redis: Redis, prefix: string, limits: NotificationRecordLimits) {
  const indexKey = (endpoint: string) => `${prefix}:webhooks:sent:${endpoint}`;
  const bodiesKey = (endpoint: string) => `${prefix}:webhooks:sent-bodies:${endpoint}`;

  return {
    limits,

    /** Records a notification (idempotent: a repeat keeps the first time). */
    async record(endpoint: string, n: RecordedNotification): Promise<void> {
      const json = JSON.stringify({ type: n.type, transitionId: n.transitionId, body: n.body, atMs: n.atMs });
      await RECORD.run(
        redis,
        [indexKey(endpoint), bodiesKey(endpoint)],
        [n.webhookId, String(n.atMs), json, String(n.atMs - limits.retentionMs), String(limits.maxPerEndpoint)],
      );
    },

    /** Every recorded notification of an endpoint enqueued at or after `sinceMs`, oldest first. */
    async since(endpoint: string, sinceMs: number): Promise<RecordedNotification[]> {
      const ids = await redis.zrangebyscore(indexKey(endpoint), sinceMs, '+inf');
      if (ids.length === 0) return [];
      const out: RecordedNotification[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const slice = ids.slice(i, i + 500);
        const raws = await redis.hmget(bodiesKey(endpoint), ...slice);
        slice.forEach((webhookId, j) => {
          const raw = raws[j];
          if (raw === null || raw === undefined) return;
          const parsed = JSON.parse(raw) as Omit<RecordedNotification, 'webhookId'>;
          out.push({ webhookId, ...parsed });
        });
      }
      return out;
    },

    /** How many notifications are recorded for an endpoint. */
    async count(endpoint: string): Promise<number> {
      return redis.zcard(indexKey(endpoint));
    },
  };
}

/** The notification record's interface. */
export type NotificationRecord = ReturnType<typeof createNotificationRecord>;
