import { got, RequestError } from 'got';
import { DelayedError, type Job } from 'bullmq';
import { CredwatchError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { excerpt } from '../redact.js';
import { VERSION } from '../version.js';
import type { DeadLetterStore } from './dead-letters.js';
import { credentialOf, type DeliveryLog } from './delivery-log.js';
import type { Admission, EndpointCircuit } from './endpoint-circuit.js';
import type { WebhookEventType } from '../core/webhook-event-types.js';
import type { WebhookEndpoint } from './endpoints.js';
import { parseRetryAfter } from '../core/retry-after.js';
import { RETRY_JITTER, retryDelay } from './retry-delay.js';
import { signPayload } from './signing.js';
import type { WebhookStore } from './webhook-store.js';

/** What one delivery job carries: the body to send, never a secret or the URL (both come from config). */
export interface DeliveryJobData {
  webhookId: string;
  endpoint: string;
  type: WebhookEventType;
  transitionId: string;
  body: string;
  /** Set on jobs an operator redelivered from the dead letters. */
  redeliveries?: number;
  /** Set on jobs an operator replayed (`POST /api/webhooks/endpoints/{name}/replay`). */
  replay?: true;
}

/** How the endpoint circuit behaves (docs/webhooks.md, "Endpoint health"). */
export interface CircuitOptions {
  /** Failed attempts in a row that mark an endpoint failing. */
  failureThreshold: number;
  /** Longest delay between two probes of a failing endpoint. */
  probeIntervalMs: number;
  /** How long a waiting delivery sleeps before it checks the circuit again by itself. */
  parkMs: number;
  /** A delivery still undelivered this long after it was created, while its endpoint fails, is dead-lettered. */
  giveUpAfterMs: number;
  /** The retry schedule (the probe follows it, capped at probeIntervalMs). */
  schedule: readonly number[];
  random: () => number;
}

/** The delay before the next probe of a failing endpoint: the retry schedule, capped, Retry-After as a floor. */
export function probeDelay(input: { failuresInRow: number; options: CircuitOptions; retryAfterMs: number | undefined }): number {
  const { options } = input;
  const step = Math.min(Math.max(input.failuresInRow - options.failureThreshold + 1, 1), Math.max(options.schedule.length, 1));
  const scheduled = retryDelay({ failedAttempts: step, schedule: options.schedule, random: options.random() });
  const cap = Math.round(options.probeIntervalMs * (1 - RETRY_JITTER + 2 * RETRY_JITTER * options.random()));
  const delay = scheduled < 0 ? cap : Math.min(scheduled, cap);
  return Math.max(delay, input.retryAfterMs ?? 0);
}

/** How a delivery job ended. */
export type DeliveryResult = { outcome: 'delivered'; status: number } | { outcome: 'dead_lettered'; reason: string };

/** A failed attempt that is retried on the schedule (honouring `retryAfterMs` when the receiver sent one). */
export class WebhookDeliveryError extends CredwatchError {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super('WEBHOOK_DELIVERY_FAILED', message);
  }
}

/** The BullMQ queue of one endpoint: one per endpoint, so a slow receiver never delays the others. */
export function deliveryQueueName(endpoint: string): string {
  return `webhook-${endpoint}`;
}

/** A URL shown in logs and the API: scheme, host and path only (query strings may hold tokens). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '[invalid url]';
  }
}

function describeNetworkError(error: unknown, timeoutMs: number): string {
  if (error instanceof RequestError) {
    if (error.name === 'TimeoutError' || error.code === 'ETIMEDOUT') return `no answer within ${timeoutMs} ms`;
    return `network error ${error.code || error.name}`;
  }
  return `error ${error instanceof Error ? error.name : 'unknown'}`;
}

/**
 * Builds the processor of the delivery queues: sign the stored body at attempt time, POST it, and map
 * the answer to queue behaviour in one place: 2xx → done; 410 → endpoint disabled and dead letter;
 * other failures → throw WebhookDeliveryError (BullMQ retries on the schedule) or, on the last attempt,
 * dead letter.
 */
export function createDeliveryProcessor(deps: {
  endpoints: ReadonlyMap<string, WebhookEndpoint>;
  store: WebhookStore;
  deadLetters: DeadLetterStore;
  timeoutMs: number;
  metrics: Metrics;
  logger: Logger;
  /** Longest Retry-After honoured, in ms. */
  maxRetryAfterMs: number;
  circuit: EndpointCircuit;
  circuitOptions: CircuitOptions;
  deliveryLog: DeliveryLog;
  /** Called when an endpoint's circuit closed (or it was disabled): release its waiting deliveries. */
  onRelease: (endpoint: string, limit?: number) => void;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  const circuit = deps.circuitOptions;
  // The probe role outlives the probe's delay by a margin; a crashed probe's job takes it again when
  // BullMQ retries it, or another waiting delivery once it expires.
  const probeTtl = (delayMs: number) => delayMs + deps.timeoutMs + 60_000;

  /** Moves the job back to delayed without spending an attempt (BullMQ's DelayedError contract). */
  async function sleep(job: Job<DeliveryJobData>, token: string | undefined, delayMs: number): Promise<never> {
    await job.moveToDelayed(now() + delayMs, token);
    throw new DelayedError();
  }

  const agedOut = (job: Job<DeliveryJobData>) => now() - job.timestamp > circuit.giveUpAfterMs;

  async function deadLetter(job: Job<DeliveryJobData>, attempts: number, reason: string): Promise<DeliveryResult> {
    const d = job.data;
    await deps.deadLetters.add({
      id: d.webhookId,
      endpoint: d.endpoint,
      type: d.type,
      transitionId: d.transitionId,
      body: d.body,
      attempts,
      lastError: reason,
      failedAt: new Date(now()).toISOString(),
      redeliveries: d.redeliveries ?? 0,
    });
    return { outcome: 'dead_lettered', reason };
  }

  async function giveUpWhileFailing(job: Job<DeliveryJobData>, admission: Admission, attempts: number): Promise<DeliveryResult> {
    const d = job.data;
    if (admission === 'probe') {
      await deps.circuit.dropProbe(d.endpoint, String(job.id));
      deps.onRelease(d.endpoint, 1);
    }
    deps.metrics.webhookDeliveries.inc({ endpoint: d.endpoint, event: d.type, outcome: 'dead_lettered' }, 1);
    return deadLetter(job, attempts, 'endpoint failing for longer than the retry schedule lasts: given up');
  }

  /** A delivery that may not be sent now: it waits, without spending an attempt, until the endpoint recovers. */
  async function park(job: Job<DeliveryJobData>, token: string | undefined, attempts: number): Promise<DeliveryResult> {
    if (agedOut(job)) return giveUpWhileFailing(job, 'wait', attempts);
    return sleep(job, token, circuit.parkMs);
  }

  return async function processDelivery(job: Job<DeliveryJobData>, token?: string): Promise<DeliveryResult> {
    const d = job.data;
    const log = deps.logger.child({ endpoint: d.endpoint, webhookId: d.webhookId, jobId: job.id, event: d.type });
    const labels = { endpoint: d.endpoint, event: d.type };
    if (d.redeliveries === undefined && d.replay === undefined) await deps.store.setMarker(d.webhookId, 'started');
    const attempt = job.attemptsMade + 1;
    const endpoint = deps.endpoints.get(d.endpoint);
    if (endpoint === undefined) {
      deps.metrics.webhookDeliveries.inc({ ...labels, outcome: 'failed' }, 1);
      return deadLetter(job, attempt - 1, 'endpoint no longer configured');
    }
    if (await deps.store.isDisabled(d.endpoint)) {
      deps.metrics.webhookDeliveries.inc({ ...labels, outcome: 'dead_lettered' }, 1);
      log.info('endpoint disabled: delivery goes straight to dead letters');
      return deadLetter(job, attempt - 1, 'endpoint disabled (it answered 410 Gone)');
    }
    const jobId = String(job.id);
    let admission = await deps.circuit.admit(d.endpoint, jobId, job.timestamp, probeTtl(circuit.probeIntervalMs));
    if (admission === 'wait') return park(job, token, attempt - 1);

    const timestamp = Math.floor(now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': `credwatch/${VERSION}`,
      'webhook-id': d.webhookId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signPayload({ secrets: endpoint.secrets, msgId: d.webhookId, timestamp, body: d.body }),
    };
    const started = performance.now();
    let status: number | undefined;
    let failure: string;
    let retryAfterMs: number | undefined;
    try {
      const response = await got.post(endpoint.url, {
        body: d.body,
        headers,
        timeout: { request: deps.timeoutMs },
        retry: { limit: 0 },
        throwHttpErrors: false,
        followRedirect: false,
        responseType: 'text',
      });
      status = response.statusCode;
      const ra = response.headers['retry-after'];
      if (status === 429 || status === 503) retryAfterMs = parseRetryAfter(Array.isArray(ra) ? ra[0] : ra, now(), deps.maxRetryAfterMs);
      failure = `HTTP ${status}${response.body ? `: ${excerpt(response.body, 120)}` : ''}`;
    } catch (error) {
      failure = describeNetworkError(error, deps.timeoutMs);
    }
    const latencyMs = performance.now() - started;
    deps.metrics.webhookDeliveryDuration.observe({ endpoint: d.endpoint }, latencyMs / 1000);
    const ok = status !== undefined && status >= 200 && status < 300;
    await deps.deliveryLog.add({
      at: new Date(now()).toISOString(),
      endpoint: d.endpoint,
      webhookId: d.webhookId,
      type: d.type,
      transitionId: d.transitionId,
      ...credentialOf(d.body),
      status: status ?? null,
      latencyMs: Math.round(latencyMs),
      error: ok ? null : failure,
      probe: admission === 'probe',
    });

    if (ok) {
      if (await deps.circuit.recordSuccess(d.endpoint, now(), jobId)) {
        log.info({ probe: admission === 'probe' }, 'webhook endpoint answered again: releasing its waiting deliveries');
        deps.onRelease(d.endpoint);
      }
      deps.metrics.webhookDeliveries.inc({ ...labels, outcome: 'delivered' }, 1);
      log.debug({ status, attempt }, 'webhook delivered');
      return { outcome: 'delivered', status: status ?? 0 };
    }
    const health = await deps.circuit.recordFailure(d.endpoint, now(), failure, circuit.failureThreshold);
    if (status === 410) {
      await deps.store.disable(d.endpoint, now());
      if (admission === 'probe') await deps.circuit.dropProbe(d.endpoint, jobId);
      // The waiting deliveries run now and meet the disabled endpoint: straight to dead letters.
      deps.onRelease(d.endpoint);
      deps.metrics.webhookEndpointDisabled.set({ endpoint: d.endpoint }, 1);
      deps.metrics.webhookDeliveries.inc({ ...labels, outcome: 'failed' }, 1);
      log.warn({ url: safeUrl(endpoint.url) }, 'webhook endpoint answered 410 Gone: endpoint disabled');
      return deadLetter(job, attempt, failure);
    }
    if (health.failing) {
      // The endpoint is failing: only its probe keeps trying (on the schedule, capped), the others wait.
      // A delivery that was in flight when the circuit opened becomes the probe if there is none.
      if (admission !== 'probe') admission = await deps.circuit.admit(d.endpoint, jobId, job.timestamp, probeTtl(circuit.probeIntervalMs));
      if (agedOut(job)) return giveUpWhileFailing(job, admission, attempt);
      deps.metrics.webhookDeliveries.inc({ ...labels, outcome: 'retrying' }, 1);
      if (admission === 'wait') return park(job, token, attempt);
      const delay = probeDelay({ failuresInRow: health.failuresInRow, options: circuit, retryAfterMs });
      await deps.circuit.keepProbe(d.endpoint, jobId, probeTtl(delay));
      log.info(
        { failuresInRow: health.failuresInRow, error: failure, nextProbeMs: delay },
        'webhook endpoint failing: probe failed; probing again later',
      );
      return sleep(job, token, delay);
    }
    const maxAttempts = job.opts.attempts ?? 1;
    if (attempt >= maxAttempts) {
      deps.metrics.webhookDeliveries.inc({ ...labels, outcome: 'dead_lettered' }, 1);
      log.warn({ attempt, error: failure }, 'webhook delivery exhausted its attempts: dead letter');
      return deadLetter(job, attempt, failure);
    }
    await deps.circuit.markRetrying(d.endpoint, jobId, job.timestamp);
    deps.metrics.webhookDeliveries.inc({ ...labels, outcome: 'retrying' }, 1);
    log.info({ attempt, error: failure, retryAfterMs }, 'webhook delivery failed; will retry');
    throw new WebhookDeliveryError(failure, retryAfterMs);
  };
}
