import { createRedisErrorReporter, type RedisErrorReporter } from '../redis-error-reporter.js';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { CredwatchError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { releaseWaiting } from './catch-up.js';
import { createDeadLetterStore, type DeadLetter, type DeadLetterPage } from './dead-letters.js';
import { createDeliveryLog, type DeliveryAttempt } from './delivery-log.js';
import {
  createDeliveryProcessor,
  deliveryQueueName,
  safeUrl,
  WebhookDeliveryError,
  type DeliveryJobData,
  type DeliveryResult,
} from './delivery.processor.js';
import { createDispatcher } from './dispatcher.js';
import { createEndpointCircuit, type EndpointCircuitState } from './endpoint-circuit.js';
import { createNotificationRecord } from './notification-record.js';
import { createIncidentMonitor, type IncidentSettings } from '../incidents/incident-monitor.js';
import { buildIncidentBody } from '../incidents/incident-payload.js';
import { createIncidentStore, type FleetIncident, type IncidentGauges } from '../incidents/incident-store.js';
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
  /** healthy, failing (circuit open: one probe at a time) or disabled (410 Gone). */
  state: EndpointCircuitState;
  failingSince: string | null;
  /** Deliveries parked until the endpoint recovers. */
  waiting: number;
  /** Deliveries not yet delivered: queued, retrying, parked or in flight. */
  backlog: number;
}

/** Endpoint health and catch-up settings (CREDWATCH_WEBHOOK_* in config.ts); the defaults suit production. */
export interface WebhookHealthOptions {
  /** Failed attempts in a row that mark an endpoint failing (default 5). */
  failureThreshold?: number;
  /** Longest delay between two probes of a failing endpoint (default 5 s). */
  probeIntervalMs?: number;
  /** Deliveries started per second per endpoint, over every process; 0 = no limit (default 50). */
  ratePerSecond?: number;
  /** Notifications kept per endpoint for replay (default 10 000). */
  replayMax?: number;
  /** How long notifications are kept for replay (default 7 days). */
  replayRetentionMs?: number;
  /** Delivery attempts kept per endpoint in the delivery log (default 1000). */
  logSize?: number;
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
  /** A waiting delivery checks the circuit again by itself after this long (default 1 h). */
  parkMs?: number;
  /** How often each process looks for waiting deliveries to release (default 5 s). */
  reconcileMs?: number;
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
  health?: WebhookHealthOptions;
  tuning?: WebhookServiceTuning;
  /** Fleet incidents (detection, hold, incident webhooks); absent = every notification sent at once. */
  incidents?: IncidentSettings;
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
  const health = options.health ?? {};
  const store = createWebhookStore(redis, prefix);
  const deadLetters = createDeadLetterStore(redis, prefix);
  const circuit = createEndpointCircuit(redis, prefix);
  const deliveryLog = createDeliveryLog(redis, prefix, health.logSize ?? 1000);
  const record = createNotificationRecord(redis, prefix, {
    maxPerEndpoint: health.replayMax ?? 10_000,
    retentionMs: health.replayRetentionMs ?? 7 * 24 * 3_600_000,
  });
  const byName = new Map(options.endpoints.map((e) => [e.name, e]));
  const names = options.endpoints.map((e) => e.name);
  const redisErrors = options.redisErrors ?? createRedisErrorReporter(log);
  const queues = new Map(
    options.endpoints.map((e) => [
      e.name,
      redisErrors.watch(
        `queue:${deliveryQueueName(e.name)}`,
        new Queue<DeliveryJobData>(deliveryQueueName(e.name), { connection: redis, prefix }),
      ),
    ]),
  );
  const jobOptions = { attempts: schedule.length + 1 };
  const dispatcher = createDispatcher({
    redis,
    prefix,
    endpoints: options.endpoints,
    queues,
    store,
    record,
    cooldownMs: options.cooldownMs,
    notifyUnclassified: options.notifyUnclassified,
    includeEmail: options.includeEmail ?? true,
    jobOptions,
    logger: log,
    claimIdleMs: tuning.claimIdleMs ?? 60_000,
    blockMs: tuning.blockMs ?? 1000,
    ...(options.incidents === undefined ? {} : { route: (t, d) => incidents.route(t, d) }),
  });
  const incidentStore = createIncidentStore(redis, prefix);
  const incidents = createIncidentMonitor({
    store: incidentStore,
    prefix,
    settings: options.incidents ?? {
      windowMs: 600_000,
      minCredentials: 20,
      minShare: 0.1,
      settleMs: 0,
      holdLimitMs: 7_200_000,
      recoveredShare: 0.8,
      releaseDelayMs: 0,
      checkIntervalMs: 5000,
    },
    deliver: (t, d) => dispatcher.deliver(t, d),
    deliverIncident: (incident, type) =>
      dispatcher.deliverToAll(`incident:${incident.id}:${type}`, type, buildIncidentBody(incident, type, Date.now())),
    logger: logger.child({ component: 'incidents' }),
  });
  const processor = createDeliveryProcessor({
    endpoints: byName,
    store,
    deadLetters,
    timeoutMs: options.timeoutMs,
    metrics,
    logger: log,
    maxRetryAfterMs: MAX_RETRY_AFTER_MS,
    circuit,
    deliveryLog,
    circuitOptions: {
      failureThreshold: health.failureThreshold ?? 5,
      probeIntervalMs: health.probeIntervalMs ?? 5000,
      parkMs: tuning.parkMs ?? 3_600_000,
      // The span of the whole schedule: a delivery is never kept longer than without the circuit.
      giveUpAfterMs: Math.max(
        schedule.reduce((sum, ms) => sum + ms, 0),
        health.probeIntervalMs ?? 5000,
      ),
      schedule,
      random,
    },
    onRelease: (endpoint, limit) => release(endpoint, limit),
  });
  let workers: Array<Worker<DeliveryJobData, DeliveryResult>> = [];
  let reconciler: NodeJS.Timeout | undefined;
  const releasing = new Map<string, Promise<void>>();

  /** Releases an endpoint's waiting deliveries (one release at a time per endpoint in this process). */
  function release(endpoint: string, limit?: number): void {
    const queue = queues.get(endpoint);
    if (queue === undefined || releasing.has(endpoint)) return;
    const run = releaseWaiting({ circuit, queue, endpoint, logger: log, ...(limit === undefined ? {} : { limit }) })
      .then(() => undefined)
      .catch((error: unknown) => log.error({ endpoint, err: error }, 'could not release waiting deliveries; retrying on the next check'))
      .finally(() => releasing.delete(endpoint));
    releasing.set(endpoint, run);
  }

  /** Releases what a lost release left parked, and hands the probe role on when nobody holds it. */
  async function reconcile(): Promise<void> {
    for (const row of await circuit.states(names)) {
      if (row.waiting === 0) continue;
      if (row.state !== 'failing') release(row.endpoint);
      else if (!row.probe) release(row.endpoint, 1);
    }
  }

  function requireEndpoint(name: string): WebhookEndpoint {
    const endpoint = byName.get(name);
    if (endpoint === undefined) throw new CredwatchError('WEBHOOK_ENDPOINT_UNKNOWN', `no webhook endpoint named "${name}" is configured`);
    return endpoint;
  }

  /** State and backlog of every endpoint, for the metrics and the status page (a few O(1) reads each). */
  async function endpointHealth(): Promise<
    Array<{ endpoint: string; state: EndpointCircuitState; failingSince: string | null; waiting: number; backlog: number }>
  > {
    const rows = await circuit.states(names);
    return Promise.all(
      rows.map(async (row) => {
        const counts = await queues.get(row.endpoint)?.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
        const backlog = Object.values(counts ?? {}).reduce((sum, n) => sum + n, 0);
        return { endpoint: row.endpoint, state: row.state, failingSince: row.failingSince, waiting: row.waiting, backlog };
      }),
    );
  }

  return {
    /** Starts the outbox dispatcher and one delivery worker per endpoint. */
    async start(): Promise<void> {
      for (const name of names) metrics.webhookEndpointDisabled.set({ endpoint: name }, (await store.isDisabled(name)) ? 1 : 0);
      workers = options.endpoints.map((endpoint) => {
        const rate = health.ratePerSecond ?? 50;
        const worker = new Worker<DeliveryJobData, DeliveryResult>(
          deliveryQueueName(endpoint.name),
          (job: Job<DeliveryJobData>, token?: string) => processor(job, token),
          {
            connection: redis,
            prefix,
            concurrency: tuning.concurrency ?? 4,
            // Paces the catch-up after an outage (and every other moment): per endpoint, over every process.
            ...(rate > 0 ? { limiter: { max: rate, duration: 1000 } } : {}),
            lockDuration: tuning.lockDurationMs ?? 30_000,
            stalledInterval: tuning.stalledIntervalMs ?? 30_000,
            // A delivery interrupted by crashes this often is given up through the 'failed' handler below.
            maxStalledCount: 5,
            settings: {
              backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) =>
                retryDelay({
                  failedAttempts: attemptsMade,
                  schedule,
                  random: random(),
                  retryAfterMs: err instanceof WebhookDeliveryError ? err.retryAfterMs : undefined,
                }),
            },
          },
        );
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
      reconciler = setInterval(
        () => void reconcile().catch((error: unknown) => log.error({ err: error }, 'webhook circuit check failed')),
        tuning.reconcileMs ?? 5000,
      );
      reconciler.unref();
      if (options.incidents !== undefined) incidents.start();
      log.info({ endpoints: options.endpoints.map((e) => ({ name: e.name, url: safeUrl(e.url) })) }, 'webhook service started');
    },

    /** Stops reading the outbox, lets in-flight deliveries finish, and closes the queues. */
    async close(): Promise<void> {
      clearInterval(reconciler);
      await dispatcher.stop();
      await Promise.all(releasing.values());
      await incidents.stop();
      await Promise.all(workers.map((w) => w.close()));
      workers = [];
      await Promise.all([...queues.values()].map((q) => q.close()));
    },

    /** Every configured endpoint with its state: last success, failures in a row, disabled. */
    async endpointsState(): Promise<EndpointView[]> {
      const counts = new Map((await deadLetters.counts(names)).map((c) => [c.endpoint, c.count]));
      const health = new Map((await endpointHealth()).map((h) => [h.endpoint, h]));
      return Promise.all(
        options.endpoints.map(async (e) => {
          const h = health.get(e.name);
          return {
            name: e.name,
            url: safeUrl(e.url),
            filters: e.filters,
            ...(await store.endpointState(e.name)),
            deadLetters: counts.get(e.name) ?? 0,
            state: h?.state ?? 'healthy',
            failingSince: h?.failingSince ?? null,
            waiting: h?.waiting ?? 0,
            backlog: h?.backlog ?? 0,
          };
        }),
      );
    },

    endpointHealth,

    /**
     * Re-sends every recorded notification of an endpoint enqueued at or after `sinceMs`, delivered or
     * not (dead letters are taken off their list): same webhook-id and body, fresh timestamp and signature.
     */
    async replay(name: string, sinceMs: number): Promise<{ endpoint: string; since: string; replayed: number }> {
      requireEndpoint(name);
      if (await store.isDisabled(name))
        throw new CredwatchError('WEBHOOK_ENDPOINT_DISABLED', `endpoint "${name}" is disabled (it answered 410 Gone); enable it first`);
      const queue = queues.get(name);
      if (queue === undefined) throw new CredwatchError('WEBHOOK_ENDPOINT_UNKNOWN', `no delivery queue for "${name}"`);
      const items = await record.since(name, sinceMs);
      const stamp = Date.now().toString(36);
      for (let i = 0; i < items.length; i += 500) {
        const slice = items.slice(i, i + 500);
        for (const n of slice) await deadLetters.remove({ id: n.webhookId, endpoint: name });
        await queue.addBulk(
          slice.map((n) => ({
            name: n.type,
            data: {
              webhookId: n.webhookId,
              endpoint: name,
              type: n.type,
              transitionId: n.transitionId,
              body: n.body,
              replay: true as const,
            },
            opts: {
              jobId: `${n.webhookId}-replay-${stamp}`,
              ...jobOptions,
              backoff: { type: 'webhook' },
              removeOnComplete: { age: 7 * 24 * 3600 },
              removeOnFail: { age: 30 * 24 * 3600 },
            },
          })),
        );
      }
      log.info({ endpoint: name, since: new Date(sinceMs).toISOString(), replayed: items.length }, 'webhook notifications replayed');
      return { endpoint: name, since: new Date(sinceMs).toISOString(), replayed: items.length };
    },

    /** Recent delivery attempts, newest first, of one endpoint or all, optionally about one credential. */
    async listDeliveries(
      query: { endpoint?: string | undefined; credential?: string | undefined; limit?: number | undefined } = {},
    ): Promise<DeliveryAttempt[]> {
      if (query.endpoint !== undefined) requireEndpoint(query.endpoint);
      return deliveryLog.list({
        endpoints: query.endpoint === undefined ? names : [query.endpoint],
        credential: query.credential,
        limit: query.limit ?? 100,
      });
    },

    /** Dead letters, newest first, optionally of one endpoint. */
    async listDeadLetters(
      query: { endpoint?: string | undefined; limit?: number | undefined; cursor?: string | undefined } = {},
    ): Promise<DeadLetterPage> {
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
      if (!(await deadLetters.remove(letter)))
        throw new CredwatchError('DEAD_LETTER_NOT_FOUND', `dead letter "${id}" was just redelivered by someone else`);
      const redeliveries = letter.redeliveries + 1;
      const jobId = `${letter.id}-r${redeliveries}`;
      try {
        await queue.add(
          letter.type,
          {
            webhookId: letter.id,
            endpoint: letter.endpoint,
            type: letter.type,
            transitionId: letter.transitionId,
            body: letter.body,
            redeliveries,
          },
          {
            jobId,
            ...jobOptions,
            backoff: { type: 'webhook' },
            removeOnComplete: { age: 7 * 24 * 3600 },
            removeOnFail: { age: 30 * 24 * 3600 },
          },
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

    /** Fleet incidents, newest first. */
    async listIncidents(limit?: number): Promise<FleetIncident[]> {
      return incidentStore.list(limit);
    },

    /** One fleet incident, or null. */
    async getIncident(id: string): Promise<FleetIncident | null> {
      return incidentStore.get(id);
    },

    /**
     * Resolves an open incident by hand, releasing (sending now) or discarding its held notifications.
     * Returns how many were held, or -1 when it is not open.
     */
    async resolveIncident(id: string, how: 'release' | 'discard'): Promise<number> {
      return incidents.operatorResolve(id, how);
    },

    /** Open incidents and notifications waiting, for the gauges. */
    async incidentGauges(): Promise<IncidentGauges> {
      return incidentStore.gauges();
    },

    /** Re-enables an endpoint (disabled by a 410, or failing) and releases its waiting deliveries at once. */
    async enableEndpoint(name: string): Promise<void> {
      requireEndpoint(name);
      await store.enable(name);
      await circuit.reset(name);
      release(name);
      metrics.webhookEndpointDisabled.set({ endpoint: name }, 0);
      log.info({ endpoint: name }, 'webhook endpoint re-enabled');
    },
  };
}

/** The webhook service's interface, as main.ts and the routes use it. */
export type WebhookService = ReturnType<typeof createWebhookService>;
