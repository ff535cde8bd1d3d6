import { got, RequestError } from 'got';
import type { Job } from 'bullmq';
import { CredwatchError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { excerpt } from '../redact.js';
import { VERSION } from '../version.js';
import type { DeadLetterStore } from './dead-letters.js';
import type { WebhookEventType } from '../core/webhook-event-types.js';
import type { WebhookEndpoint } from './endpoints.js';
import { parseRetryAfter } from '../core/retry-after.js';
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
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;

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

  return async function processDelivery(job: Job<DeliveryJobData>): Promise<DeliveryResult> {
    const d = job.data;
    const log = deps.logger.child({ endpoint: d.endpoint, webhookId: d.webhookId, jobId: job.id, event: d.type });
    const labels = { endpoint: d.endpoint, event: d.type };
    if (d.redeliveries === undefined) await deps.store.setMarker(d.webhookId, 'started');
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
    deps.metrics.webhookDeliveryDuration.observe({ endpoint: d.endpoint }, (performance.now() - started) / 1000);

    if (status !== undefined && status >= 200 && status < 300) {
      await deps.store.recordSuccess(d.endpoint, now());
      deps.metrics.webhookDeliveries.inc({ ...labels, outcome: 'delivered' }, 1);
      log.debug({ status, attempt }, 'webhook delivered');
      return { outcome: 'delivered', status };
    }
    await deps.store.recordFailure(d.endpoint, now(), failure);
    if (status === 410) {
      await deps.store.disable(d.endpoint, now());
      deps.metrics.webhookEndpointDisabled.set({ endpoint: d.endpoint }, 1);
      deps.metrics.webhookDeliveries.inc({ ...labels, outcome: 'failed' }, 1);
      log.warn({ url: safeUrl(endpoint.url) }, 'webhook endpoint answered 410 Gone: endpoint disabled');
      return deadLetter(job, attempt, failure);
    }
    const maxAttempts = job.opts.attempts ?? 1;
    if (attempt >= maxAttempts) {
      deps.metrics.webhookDeliveries.inc({ ...labels, outcome: 'dead_lettered' }, 1);
      log.warn({ attempt, error: failure }, 'webhook delivery exhausted its attempts: dead letter');
      return deadLetter(job, attempt, failure);
    }
    deps.metrics.webhookDeliveries.inc({ ...labels, outcome: 'retrying' }, 1);
    log.info({ attempt, error: failure, retryAfterMs }, 'webhook delivery failed; will retry');
    throw new WebhookDeliveryError(failure, retryAfterMs);
  };
}
