// Runs a webhook service in its own process so a test can kill -9 it mid-delivery. Configured by
// environment variables (this is a test helper, not product code); prints "ready" once started.
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createWebhookService } from '../../src/webhooks/webhook-service.js';

const env = process.env;
const redis = new Redis(env['CHILD_REDIS_URL'] ?? '', { maxRetriesPerRequest: null });
const endpoints = [{ name: 'app', url: env['CHILD_ENDPOINT_URL'] ?? '', secrets: [env['CHILD_SECRET'] ?? ''], filters: {} }];
const service = createWebhookService({
  redis,
  prefix: env['CHILD_PREFIX'] ?? '',
  endpoints,
  timeoutMs: 20_000,
  cooldownMs: 3_600_000,
  notifyUnclassified: false,
  metrics: createMetrics(new Registry(), { providers: ['panorama'], endpoints: ['app'], version: 'test', defaultMetrics: false }),
  logger: createLogger({ level: env['CHILD_LOG_LEVEL'] ?? 'warn', format: 'json' }),
  retrySchedule: (env['CHILD_RETRY_SCHEDULE'] ?? '200,200,200,200,200').split(',').map(Number),
  health: {
    failureThreshold: Number(env['CHILD_FAILURE_THRESHOLD'] ?? '5'),
    probeIntervalMs: Number(env['CHILD_PROBE_INTERVAL_MS'] ?? '5000'),
    ratePerSecond: Number(env['CHILD_RATE'] ?? '50'),
  },
  tuning: { claimIdleMs: 500, blockMs: 200, concurrency: 1, lockDurationMs: 1000, stalledIntervalMs: 500, reconcileMs: 300 },
});
await service.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void service.close().then(() => {
    redis.disconnect();
    process.exit(0);
  });
});
