import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { isCredwatchError } from '../errors.js';
import { safeError, type Logger } from '../logger.js';
import { OUTBOX_GROUP, OUTBOX_STREAM, type Transition } from '../monitor/transition.js';
import type { DeliveryJobData } from './delivery.processor.js';
import type { NotificationRecord } from './notification-record.js';
import type { WebhookEndpoint } from './endpoints.js';
import type { WebhookEventType } from '../core/webhook-event-types.js';
import { decideNotification, type NotificationDecision } from './notification-policy.js';
import { buildWebhookBody } from './payload.js';
import type { WebhookStore } from './webhook-store.js';

/** The `webhook-id` of a notification: derived from transition id and endpoint, stable across retries. */
export function webhookIdFor(transitionId: string, endpoint: string): string {
  return `msg_${createHash('sha256').update(`${transitionId}\n${endpoint}`).digest('hex').slice(0, 32)}`;
}

/** True when an endpoint's filters let a notification through. */
export function endpointWants(endpoint: WebhookEndpoint, transition: Transition, decision: NotificationDecision): boolean {
  const f = endpoint.filters;
  if (f.events && !f.events.includes(decision.type)) return false;
  if (f.categories && !f.categories.includes(decision.category)) return false;
  if (f.providers && !f.providers.includes(transition.provider)) return false;
  if (f.environments && (transition.clientEnvironment === null || !f.environments.includes(transition.clientEnvironment))) return false;
  return true;
}

type StreamEntry = [id: string, fields: string[] | null];

function entries(reply: unknown): StreamEntry[] {
  return Array.isArray(reply) ? (reply as StreamEntry[]) : [];
}

/**
 * The entry lists of an XREADGROUP reply, whatever the protocol: RESP2 answers `[[key, entries], ...]`,
 * RESP3 a map that ioredis (legacy mapping) flattens to `[key, entries, key, entries]`, or an object.
 */
export function streamEntryLists(reply: unknown): unknown[] {
  if (Array.isArray(reply)) {
    if (reply.length === 0) return [];
    if (typeof reply[0] === 'string' || Buffer.isBuffer(reply[0])) return reply.filter((_, i) => i % 2 === 1);
    return reply.map((pair: unknown) => (Array.isArray(pair) ? pair[1] : undefined));
  }
  if (typeof reply === 'object' && reply !== null) return Object.values(reply);
  return [];
}

/** Options of the outbox dispatcher. */
export interface DispatcherOptions {
  redis: Redis;
  prefix: string;
  endpoints: readonly WebhookEndpoint[];
  queues: ReadonlyMap<string, Queue<DeliveryJobData>>;
  store: WebhookStore;
  cooldownMs: number;
  notifyUnclassified: boolean;
  /** Where every enqueued notification is recorded for replay (optional). */
  record?: NotificationRecord;
  /** Whether webhook payloads carry the grower's email (CREDWATCH_WEBHOOK_INCLUDE_EMAIL, default true). */
  includeEmail?: boolean;
  /** Job options every delivery gets (attempts and backoff). */
  jobOptions: { attempts: number };
  logger: Logger;
  /** An entry pending this long on another consumer is taken over (that consumer is presumed dead). */
  claimIdleMs: number;
  /** Longest wait of one XREADGROUP; bounds how long close() takes. */
  blockMs: number;
  now?: () => number;
  /**
   * Fleet incidents: where a notification goes ('send' now, or settled, held or dropped). Absent:
   * every notification is sent at once.
   */
  route?: (transition: Transition, decision: NotificationDecision | null) => Promise<string>;
}

/**
 * Reads transitions from the outbox stream with a consumer group, applies the notification policy and
 * enqueues one delivery per matching endpoint idempotently, then acknowledges and deletes the entry.
 * Safe against kill -9 at any point: every step can be repeated without a second notification.
 */
export function createDispatcher(options: DispatcherOptions) {
  const { redis, store, logger } = options;
  const now = options.now ?? Date.now;
  const stream = `${options.prefix}:${OUTBOX_STREAM}`;
  const consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  let running = false;
  let loop: Promise<void> | undefined;
  let blocking: Redis | undefined;

  async function ensureGroup(): Promise<void> {
    try {
      // From 0: transitions written before the first dispatcher ever ran are sent too.
      await redis.xgroup('CREATE', stream, OUTBOX_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error && error.message.includes('BUSYGROUP'))) throw error;
    }
  }

  async function decide(t: Transition): Promise<NotificationDecision | null> {
    const credentialKey = `${t.provider}:${t.leafUserId}`;
    for (let round = 0; round < 10; round += 1) {
      const recorded = await store.recordedDecision(t.id);
      if (recorded !== undefined) return recorded === 'none' ? null : recorded;
      const last = await store.lastNotified(credentialKey);
      const atMs = now();
      const decision = decideNotification(t, last.value, {
        cooldownMs: options.cooldownMs,
        notifyUnclassified: options.notifyUnclassified,
        now: atMs,
      });
      const stored = await store.recordDecision({ transitionId: t.id, credentialKey, basedOn: last.raw, decision, atMs });
      if (stored !== 'conflict') return stored === 'none' ? null : stored;
    }
    throw new Error(`could not record the notification decision of transition ${t.id}: too much contention`);
  }

  async function enqueueOnce(endpoint: WebhookEndpoint, data: DeliveryJobData): Promise<boolean> {
    const marker = await store.marker(data.webhookId);
    if (marker !== null && marker !== 'pending') return false;
    const queue = options.queues.get(endpoint.name);
    if (queue === undefined) throw new Error(`no delivery queue for endpoint ${endpoint.name}`);
    // 'pending' before the add: if we die between the two, the next reader adds again with the same
    // jobId (BullMQ ignores a duplicate while the job exists; the processor sets 'started' before it
    // can finish, so a 'pending' marker means no delivery began).
    await store.setMarker(data.webhookId, 'pending');
    await options.record?.record(endpoint.name, {
      webhookId: data.webhookId,
      type: data.type,
      transitionId: data.transitionId,
      body: data.body,
      atMs: now(),
    });
    await queue.add(data.type, data, {
      jobId: data.webhookId,
      attempts: options.jobOptions.attempts,
      backoff: { type: 'webhook' },
      removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
      removeOnFail: { age: 30 * 24 * 3600 },
    });
    await store.setMarker(data.webhookId, 'enqueued');
    return true;
  }

  /** The body, or undefined (logged) when it cannot be built at all: retrying would never help. */
  function bodyOrUndefined(t: Transition, decision: NotificationDecision): string | undefined {
    try {
      return buildWebhookBody(t, decision.type, now(), { includeEmail: options.includeEmail ?? true });
    } catch (error) {
      if (!isCredwatchError(error, 'WEBHOOK_PAYLOAD_TOO_LARGE')) throw error;
      logger.error({ transitionId: t.id, err: safeError(error) }, 'webhook body too large even without evidence: not sent');
      return undefined;
    }
  }

  /** Enqueues a notification to every endpoint that wants it, once per webhook-id. */
  async function deliver(transition: Transition, decision: NotificationDecision): Promise<void> {
    const body = bodyOrUndefined(transition, decision);
    if (body === undefined) return;
    for (const endpoint of options.endpoints) {
      if (!endpointWants(endpoint, transition, decision)) continue;
      const webhookId = webhookIdFor(transition.id, endpoint.name);
      const added = await enqueueOnce(endpoint, {
        webhookId,
        endpoint: endpoint.name,
        type: decision.type,
        transitionId: transition.id,
        body,
      });
      logger.debug({ transitionId: transition.id, endpoint: endpoint.name, webhookId, added }, 'delivery enqueued');
    }
  }

  /** Handles one outbox entry completely, then acknowledges and deletes it. */
  async function handle(id: string, fields: string[] | null): Promise<void> {
    const at = fields === null ? -1 : fields.indexOf('t');
    const raw = at >= 0 ? fields?.[at + 1] : undefined;
    let transition: Transition | undefined;
    try {
      transition = raw === undefined ? undefined : (JSON.parse(raw) as Transition);
    } catch {
      transition = undefined;
    }
    if (transition === undefined || typeof transition.id !== 'string' || typeof transition.to !== 'string') {
      logger.error({ streamId: id }, 'outbox entry without a readable transition: dropped');
    } else {
      const decision = await decide(transition);
      const route = options.route === undefined ? 'send' : await options.route(transition, decision);
      if (decision !== null && route === 'send') await deliver(transition, decision);
    }
    await redis.multi().xack(stream, OUTBOX_GROUP, id).xdel(stream, id).exec();
  }

  async function handleAll(list: StreamEntry[]): Promise<void> {
    // The whole batch is finished even while stopping, so a graceful stop leaves nothing pending.
    for (const [id, fields] of list) {
      try {
        await handle(id, fields);
      } catch (error) {
        // Left pending: XAUTOCLAIM picks it up again after claimIdleMs.
        logger.error({ streamId: id, err: safeError(error) }, 'outbox entry not dispatched; will retry');
      }
    }
  }

  async function claimStale(): Promise<void> {
    let cursor = '0-0';
    do {
      const reply = (await redis.call(
        'XAUTOCLAIM',
        stream,
        OUTBOX_GROUP,
        consumer,
        String(options.claimIdleMs),
        cursor,
        'COUNT',
        '100',
      )) as unknown[];
      cursor = String(reply[0] ?? '0-0');
      await handleAll(entries(reply[1]).filter(([, f]) => f !== null));
    } while (cursor !== '0-0' && running);
    await pruneConsumers();
  }

  /** Forgets consumers idle for 10 × claimIdleMs that hold nothing (each process start adds one). */
  async function pruneConsumers(): Promise<void> {
    const reply = (await redis.call('XINFO', 'CONSUMERS', stream, OUTBOX_GROUP)) as unknown;
    for (const row of Array.isArray(reply) ? reply : []) {
      const fields: unknown[] = Array.isArray(row) ? row : Object.entries(row as object).flat();
      const field = (name: string) => fields[fields.indexOf(name) + 1];
      const name = String(field('name'));
      const idle = Number(field('idle'));
      if (name !== consumer && Number(field('pending')) === 0 && idle > options.claimIdleMs * 10) {
        await redis.xgroup('DELCONSUMER', stream, OUTBOX_GROUP, name);
      }
    }
  }

  async function run(reader: Redis): Promise<void> {
    let lastClaim = 0;
    while (running) {
      try {
        if (now() - lastClaim >= Math.max(options.claimIdleMs / 2, 100)) {
          lastClaim = now();
          await claimStale();
        }
        const reply = (await reader.call(
          'XREADGROUP',
          'GROUP',
          OUTBOX_GROUP,
          consumer,
          'COUNT',
          '50',
          'BLOCK',
          String(options.blockMs),
          'STREAMS',
          stream,
          '>',
        )) as unknown;
        for (const list of streamEntryLists(reply)) await handleAll(entries(list));
      } catch (error) {
        if (!running) return;
        if (error instanceof Error && error.message.includes('NOGROUP')) await ensureGroup().catch(() => undefined);
        logger.error({ err: safeError(error) }, 'outbox read failed; retrying in 1 s');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  return {
    consumer,
    deliver,
    /**
     * Enqueues a fleet-level webhook (an incident) to every endpoint whose `events` filter allows it,
     * once per `key` and endpoint.
     */
    async deliverToAll(key: string, type: WebhookEventType, body: string): Promise<void> {
      for (const endpoint of options.endpoints) {
        if (endpoint.filters.events && !endpoint.filters.events.includes(type)) continue;
        await enqueueOnce(endpoint, {
          webhookId: webhookIdFor(key, endpoint.name),
          endpoint: endpoint.name,
          type,
          transitionId: key,
          body,
        });
      }
    },
    /** Creates the consumer group if needed and starts reading. */
    async start(): Promise<void> {
      if (running) return;
      await ensureGroup();
      running = true;
      blocking = redis.duplicate();
      blocking.on('error', () => undefined);
      loop = run(blocking);
    },
    /**
     * Stops reading; the batch being handled is finished first, waiting at most `stopTimeoutMs` (entries
     * not finished stay pending and are taken over after claimIdleMs).
     */
    async stop(stopTimeoutMs = 5000): Promise<void> {
      if (!running) return;
      running = false;
      blocking?.disconnect();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([loop, new Promise<void>((resolve) => (timer = setTimeout(resolve, stopTimeoutMs)))]);
      clearTimeout(timer);
      blocking = undefined;
      loop = undefined;
    },
  };
}

/** The dispatcher's interface. */
export type Dispatcher = ReturnType<typeof createDispatcher>;
