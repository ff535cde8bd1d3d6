import type { Redis } from 'ioredis';
import type { WebhookEventType } from '../core/webhook-event-types.js';

/** A delivery that exhausted its attempts (or met a disabled endpoint), kept for inspection and redelivery. */
export interface DeadLetter {
  /** Equal to the webhook-id of the notification: unique per transition and endpoint. */
  id: string;
  endpoint: string;
  type: WebhookEventType;
  transitionId: string;
  /** The exact body bytes that were signed and sent (no secret in it). */
  body: string;
  /** Attempts made in the last series. */
  attempts: number;
  /** Redacted reason of the last failed attempt. */
  lastError: string;
  /** ISO time the delivery was given up. */
  failedAt: string;
  /** How many times an operator redelivered it before. */
  redeliveries: number;
}

/** One page of dead letters, newest first. */
export interface DeadLetterPage {
  items: DeadLetter[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** Dead letters in Redis: a hash of records plus a time-ordered set overall and per endpoint (O(1) counts). */
export function createDeadLetterStore(redis: Redis, prefix: string) {
  const records = `${prefix}:webhooks:dead-letters`;
  const all = `${prefix}:webhooks:dead-letters:all`;
  const byEndpoint = (name: string) => `${prefix}:webhooks:dead-letters:endpoint:${name}`;

  return {
    /** Stores (or replaces) a dead letter. */
    async add(letter: DeadLetter): Promise<void> {
      const score = Date.parse(letter.failedAt);
      await redis
        .multi()
        .hset(records, letter.id, JSON.stringify(letter))
        .zadd(all, score, letter.id)
        .zadd(byEndpoint(letter.endpoint), score, letter.id)
        .exec();
    },

    /** One dead letter, or null. */
    async get(id: string): Promise<DeadLetter | null> {
      const raw = await redis.hget(records, id);
      return raw === null ? null : (JSON.parse(raw) as DeadLetter);
    },

    /** Removes a dead letter; false when it was not there (someone else took it). */
    async remove(letter: Pick<DeadLetter, 'id' | 'endpoint'>): Promise<boolean> {
      const result = await redis.multi().hdel(records, letter.id).zrem(all, letter.id).zrem(byEndpoint(letter.endpoint), letter.id).exec();
      return result?.[0]?.[1] === 1;
    },

    /** Lists dead letters newest first; `cursor` is the opaque value a previous page returned. */
    async list(query: { endpoint?: string | undefined; limit: number; cursor?: string | undefined }): Promise<DeadLetterPage> {
      const offset = query.cursor === undefined ? 0 : Number(query.cursor);
      const set = query.endpoint === undefined ? all : byEndpoint(query.endpoint);
      const ids = await redis.zrevrange(set, offset, offset + query.limit);
      const page = ids.slice(0, query.limit);
      const raws = page.length === 0 ? [] : await redis.hmget(records, ...page);
      const items = raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as DeadLetter);
      return { items, nextCursor: ids.length > query.limit ? String(offset + query.limit) : null };
    },

    /** Dead letters per endpoint (ZCARD each: O(1)). */
    async counts(endpoints: readonly string[]): Promise<Array<{ endpoint: string; count: number }>> {
      if (endpoints.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const name of endpoints) pipeline.zcard(byEndpoint(name));
      const results = (await pipeline.exec()) ?? [];
      return endpoints.map((endpoint, i) => ({ endpoint, count: Number(results[i]?.[1] ?? 0) }));
    },
  };
}

/** The dead-letter store's interface. */
export type DeadLetterStore = ReturnType<typeof createDeadLetterStore>;
