import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { Category } from '../../src/classify/categories.js';
import { ACTION_BY_CATEGORY } from '../../src/classify/categories.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createMetrics, type Metrics } from '../../src/metrics/metrics.js';
import { OUTBOX_STREAM, type Transition } from '../../src/monitor/transition.js';

/** A fixed, valid signing secret for tests. */
export const TEST_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** A transition of one credential, with a fresh id unless given. */
export function transition(from: Category | null, to: Category, overrides: Partial<Transition> = {}): Transition {
  return {
    id: randomUUID(),
    at: new Date().toISOString(),
    provider: 'panorama',
    leafUserId: 'user-1',
    credentialId: 'cred-1',
    clientEnvironment: 'PRODUCTION',
    from,
    to,
    action: ACTION_BY_CATEGORY[to],
    since: new Date().toISOString(),
    ruleId: 'test',
    reason: 'test',
    evidence: {
      eventId: 'ev-1',
      statusCode: to === 'healthy' ? 200 : 400,
      excerpt: '{"message": "Refresh Token has expired", "refreshToken": "secret-refresh-value"}',
    },
    ...overrides,
  };
}

/** Appends a transition to the outbox exactly as the monitor does. */
export async function xaddTransition(redis: Redis, prefix: string, t: Transition): Promise<string> {
  return (await redis.xadd(`${prefix}:${OUTBOX_STREAM}`, '*', 't', JSON.stringify(t))) ?? '';
}

/** Metrics on a private registry, plus a logger whose JSON lines are kept in `lines`. */
export function observability(endpoints: readonly string[]): { metrics: Metrics; logger: Logger; lines: string[] } {
  const metrics = createMetrics(new Registry(), { providers: ['panorama'], endpoints, version: 'test', defaultMetrics: false });
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { metrics, logger: createLogger({ level: 'debug', format: 'json', destination }), lines };
}

/** The value of one labelled sample of a metric. */
export async function metricValue(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const data = await metric.get();
  const sample = data.values.find((v) => Object.entries(labels).every(([k, value]) => (v.labels as Record<string, unknown>)[k] === value));
  return sample?.value ?? 0;
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms`);
}
