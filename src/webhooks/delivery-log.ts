import type { Redis } from 'ioredis';
import type { WebhookEventType } from '../core/webhook-event-types.js';

/** One delivery attempt: a request sent to an endpoint and how it ended. */
export interface DeliveryAttempt {
  /** ISO time the attempt ended. */
  at: string;
  endpoint: string;
  webhookId: string;
  type: WebhookEventType;
  transitionId: string;
  /** `provider:leafUserId` of the credential the notification is about. */
  credential: string | null;
  credentialId: string | null;
  /** HTTP status, or null when no answer came (network error, timeout). */
  status: number | null;
  latencyMs: number;
  /** Redacted error, null on success. */
  error: string | null;
  /** True when the attempt was the endpoint's probe while it was failing. */
  probe: boolean;
}

/** Who a body is about, read from the body itself (jobs carry only the body). */
export function credentialOf(body: string): { credential: string | null; credentialId: string | null } {
  try {
    const data = (JSON.parse(body) as { data?: { provider?: unknown; leafUserId?: unknown; credentialId?: unknown } }).data;
    const credential =
      typeof data?.provider === 'string' && typeof data.leafUserId === 'string' ? `${data.provider}:${data.leafUserId}` : null;
    return { credential, credentialId: typeof data?.credentialId === 'string' ? data.credentialId : null };
  } catch {
    return { credential: null, credentialId: null };
  }
}

/**
 * The recent delivery attempts of each endpoint: a Redis list per endpoint, newest first, trimmed to
 * `maxPerEndpoint` entries on every write (about 400 bytes an entry).
 */
export function createDeliveryLog(redis: Redis, prefix: string, maxPerEndpoint: number) {
  const listKey = (endpoint: string) => `${prefix}:webhooks:attempts:${endpoint}`;

  return {
    /** Appends an attempt. */
    async add(attempt: DeliveryAttempt): Promise<void> {
      await redis
        .multi()
        .lpush(listKey(attempt.endpoint), JSON.stringify(attempt))
        .ltrim(listKey(attempt.endpoint), 0, maxPerEndpoint - 1)
        .exec();
    },

    /**
     * Recent attempts of the given endpoints, newest first; `credential` matches `provider:leafUserId`,
     * the bare Leaf user id, or the credential id.
     */
    async list(query: { endpoints: readonly string[]; credential?: string | undefined; limit: number }): Promise<DeliveryAttempt[]> {
      const pipeline = redis.pipeline();
      for (const name of query.endpoints) pipeline.lrange(listKey(name), 0, maxPerEndpoint - 1);
      const results = (await pipeline.exec()) ?? [];
      const c = query.credential;
      const all = results
        .flatMap(([, raws]) => (Array.isArray(raws) ? (raws as string[]) : []))
        .map((raw) => JSON.parse(raw) as DeliveryAttempt)
        .filter((a) => c === undefined || a.credential === c || a.credentialId === c || a.credential?.endsWith(`:${c}`) === true);
      return all.sort((a, b) => b.at.localeCompare(a.at)).slice(0, query.limit);
    },
  };
}

/** The delivery log's interface. */
export type DeliveryLog = ReturnType<typeof createDeliveryLog>;
