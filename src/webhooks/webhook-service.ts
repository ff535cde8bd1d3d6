import { createRedisErrorReporter, type RedisErrorReporter } from '../redis-error-reporter.js';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { CredwatchError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { createDeadLetterStore, type DeadLetter, type DeadLetterPage } from './dead-letters.js';
import { createDeliveryProcessor, deliveryQueueName, safeUrl, WebhookDeliveryError, type DeliveryJobData, type DeliveryResult } from './delivery.processor.js';
import { createDispatcher } from './dispatcher.js';
import type { EndpointFilters, WebhookEndpoint } from './endpoints.js';
import { DEFAULT_RETRY_SCHEDULE_MS, retryDelay } from './retry-delay.js';
import { createWebhookStore, type EndpointRuntimeState } from './webhook-store.js';

/** A receiver's Retry-After is honoured up to this long (a day); longer values are cut to it. */
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/** What the admin API shows for one endpoint: config without secrets, plus runtime state. */
export interface EndpointView extends EndpointRuntimeState {
  name: string;
  /** Scheme, host and path: no query string. */
  url: string;
  filters: EndpointFilters;
  deadLetters: number;
}

/** Knobs for tests and unusual deployments; the defaults suit production. */
export interface WebhookServiceTuning {
  /** Outbox entries pending this long on a consumer that stopped are taken over (default 60 s). */
  claimIdleMs?: number;
  /** Longest blocking outbox read (default 1 s). */
  blockMs?: number;
  /** Deliveries in flight per endpoint in this process (default 4). */
  concurrency?: number;
  /** BullMQ lock of an active delivery; a crashed worker's job is retried after it (default 30 s). */
  lockDurationMs?: number;
  /** How often BullMQ looks for stalled deliveries (default 30 s). */
  stalledIntervalMs?: number;
  /** Jitter source, a number in [0, 1) (default Math.random). */
  random?: () => number;
}

/** Dependencies of the webhook service, handed in by the composition root. */
export interface WebhookServiceOptions {
  /** ioredis client created with `maxRetriesPerRequest: null` (BullMQ needs it). */
  redis: Redis;
  prefix: string;
  endpoints: readonly WebhookEndpoint[];
  timeoutMs: number;
  cooldownMs: number;
  notifyUnclassified: boolean;
  /** Whether webhook payloads carry the grower's email (default true). */
  includeEmail?: boolean;
  metrics: Metrics;
  logger: Logger;
  /** Delays between attempts (default 5 s, 5 m, 30 m, 2 h, 5 h, 10 h, 10 h). */
  retrySchedule?: readonly number[];
  tuning?: WebhookServiceTuning;
  /** The process's Redis error reporter (rate-limited connection errors); default: one of its own. */
  redisErrors?: RedisErrorReporter;
}

/**
 * The outbound webhook side: the outbox dispatcher, one delivery queue and worker per endpoint, dead
 * letters and endpoint state. `start()` runs the dispatcher and workers; the read and admin methods work
 * without it (an `http`-only process).
 */
export function createWebhookService(options: WebhookServiceOptions) {
  const { redis, prefix, logger, metrics } = options;
  const log = logger.child({ component: 'webhooks' });
  const tuning = options.tuning ?? {};
  const schedule = options.retrySchedule ?? DEFAULT_RETRY_SCHEDULE_MS;
  const random = tuning.random ?? Math.random;
  const store = createWebhookStore(redis, prefix);
  const deadLetters = createDeadLetterStore(redis, prefix);
  const byName = new Map(options.endpoints.map((e) => [e.name, e]));
  const names = options.endpoints.map((e) => e.name);
  const redisErrors = options.redisErrors ?? createRedisErrorReporter(log);
  const queues = new Map(
    options.endpoints.map((e) => [e.name, redisErrors.watch(`queue:${deliveryQueueName(e.name)}`, new Queue<DeliveryJobData>(deliveryQueueName(e.name), { connection: redis, prefix }))]),
  );
  const jobOptions = { attempts: schedule.length + 1 };
  const dispatcher = createDispatcher({
    redis,
    prefix,
    endpoints: options.endpoints,
    queues,
    store,
    cooldownMs: options.cooldownMs,
    notifyUnclassified: options.notifyUnclassified,
    includeEmail: options.includeEmail ?? true,
    jobOptions,
    logger: log,
    claimIdleMs: tuning.claimIdleMs ?? 60_000,
    blockMs: tuning.blockMs ?? 1000,
  });
  const processor = createDeliveryProcessor({
    endpoints: byName,
    store,
    deadLetters,
    timeoutMs: options.timeoutMs,
    metrics,
    logger: log,
    maxRetryAfterMs: MAX_RETRY_AFTER_MS,
  });
  let workers: Array<Worker<DeliveryJobData, DeliveryResult>> = [];

  function requireEndpoint(name: string): WebhookEndpoint {
    const endpoint = byName.get(name);
    if (endpoint === undefined) throw new CredwatchError('WEBHOOK_ENDPOINT_UNKNOWN', `no webhook endpoint named "${name}" is configured`);
    return endpoint;
  }

  return {
    /** Starts the outbox dispatcher and one delivery worker per endpoint. */
    async start(): Promise<void> {
      for (const name of names) metrics.webhookEndpointDisabled.set({ endpoint: name }, (await store.isDisabled(name)) ? 1 : 0);
      workers = options.endpoints.map((endpoint) => {
        const worker = new Worker<DeliveryJobData, DeliveryResult>(deliveryQueueName(endpoint.name), (job: Job<DeliveryJobData>) => processor(job), {
          connection: redis,
          prefix,
          concurrency: tuning.concurrency ?? 4,
          lockDuration: tuning.lockDurationMs ?? 30_000,
          stalledInterval: tuning.stalledIntervalMs ?? 30_000,
          // A delivery interrupted by crashes this often is given up through the 'failed' handler below.
          maxStalledCount: 5,
          settings: {
            backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) =>
              retryDelay({ failedAttempts: attemptsMade, schedule, random: random(), retryAfterMs: err instanceof WebhookDeliveryError ? err.retryAfterMs : undefined }),
          },
        });
        worker.on('failed', (job, error) => {
          // The processor dead-letters exhausted deliveries itself; this catches the rest (a job that
          // stalled too often, or an unexpected error on the last attempt).
          if (job === undefined || error instanceof WebhookDeliveryError) return;
          if (job.attemptsMade < (job.opts.attempts ?? 1) && !/stalled/i.test(error.message)) return;
          void deadLetters
            .add({
              id: job.data.webhookId,
              endpoint: job.data.endpoint,
              type: job.data.type,
              transitionId: job.data.transitionId,
              body: job.data.body,
              attempts: job.attemptsMade,
              lastError: `delivery job failed: ${error.name}`,
              failedAt: new Date().toISOString(),
              redeliveries: job.data.redeliveries ?? 0,
            })
            .catch((e: unknown) => log.error({ err: e }, 'could not store a dead letter'));
        });
        redisErrors.watch(`worker:${worker.name}`, worker);
        return worker;
      });
      await Promise.all(workers.map((w) => w.waitUntilReady()));
      await dispatcher.start();
      log.info({ endpoints: options.endpoints.map((e) => ({ name: e.name, url: safeUrl(e.url) })) }, 'webhook service started');
    },

    /** Stops reading the outbox, lets in-flight deliveries finish, and closes the queues. */
    async close(): Promise<void> {
      await dispatcher.stop();
      await Promise.all(workers.map((w) => w.close()));
      workers = [];
      await Promise.all([...queues.values()].map((q) => q.close()));
    },

    /** Every configured endpoint with its state: last success, failures in a row, disabled. */
    async endpointsState(): Promise<EndpointView[]> {
      const counts = new Map((await deadLetters.counts(names)).map((c) => [c.endpoint, c.count]));
      return Promise.all(
        options.endpoints.map(async (e) => ({ name: e.name, url: safeUrl(e.url), filters: e.filters, ...(await store.endpointState(e.name)), deadLetters: counts.get(e.name) ?? 0 })),
      );
    },

    /** Dead letters, newest first, optionally of one endpoint. */
    async listDeadLetters(query: { endpoint?: string | undefined; limit?: number | undefined; cursor?: string | undefined } = {}): Promise<DeadLetterPage> {
      if (query.endpoint !== undefined) requireEndpoint(query.endpoint);
      return deadLetters.list({ endpoint: query.endpoint, limit: query.limit ?? 50, cursor: query.cursor });
    },

    /** One dead letter, or null. */
    async getDeadLetter(id: string): Promise<DeadLetter | null> {
      return deadLetters.get(id);
    },

    /**
     * Sends a dead letter again: a new series of attempts with the same webhook-id and body. Throws
     * DEAD_LETTER_NOT_FOUND or WEBHOOK_ENDPOINT_UNKNOWN.
     */
    async redeliver(id: string): Promise<{ id: string; endpoint: string; jobId: string }> {
      const letter = await deadLetters.get(id);
      if (letter === null) throw new CredwatchError('DEAD_LETTER_NOT_FOUND', `no dead letter with id "${id}"`);
      requireEndpoint(letter.endpoint);
      const queue = queues.get(letter.endpoint);
      if (queue === undefined) throw new CredwatchError('WEBHOOK_ENDPOINT_UNKNOWN', `no delivery queue for "${letter.endpoint}"`);
      if (!(await deadLetters.remove(letter))) throw new CredwatchError('DEAD_LETTER_NOT_FOUND', `dead letter "${id}" was just redelivered by someone else`);
      const redeliveries = letter.redeliveries + 1;
      const jobId = `${letter.id}-r${redeliveries}`;
      try {
        await queue.add(
          letter.type,
          { webhookId: letter.id, endpoint: letter.endpoint, type: letter.type, transitionId: letter.transitionId, body: letter.body, redeliveries },
          { jobId, ...jobOptions, backoff: { type: 'webhook' }, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 30 * 24 * 3600 } },
        );
      } catch (error) {
        await deadLetters.add(letter);
        throw error;
      }
      log.info({ deadLetterId: id, endpoint: letter.endpoint, jobId }, 'dead letter redelivered');
      return { id, endpoint: letter.endpoint, jobId };
    },

    /** Dead letters per endpoint, for the `credwatch_webhook_dead_letters` gauge (O(1) per endpoint). */
    async deadLetterCounts(): Promise<Array<{ endpoint: string; count: number }>> {
      return deadLetters.counts(names);
    },

    /** Re-enables an endpoint that a 410 disabled (dead letters stay until redelivered). */
    async enableEndpoint(name: string): Promise<void> {
      requireEndpoint(name);
      await store.enable(name);
      metrics.webhookEndpointDisabled.set({ endpoint: name }, 0);
      log.info({ endpoint: name }, 'webhook endpoint re-enabled');
    },
  };
}

/** The webhook service's interface, as main.ts and the routes use it. */
export type WebhookService = ReturnType<typeof createWebhookService>;
