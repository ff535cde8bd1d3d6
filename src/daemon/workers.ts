import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { PollClassifier } from '../monitor/poll.processor.js';
import type { UnclassifiedInbox } from '../monitor/unclassified-inbox.js';
import type { Config, Role } from '../config.js';
import type { LeafClient } from '../leaf/leaf-client.js';
import { safeError, type Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { CredentialStore } from '../monitor/credential-store.js';
import { createPollProcessor } from '../monitor/poll.processor.js';
import { QUEUES, jitteredBackoff, upsertSchedules } from '../monitor/schedules.js';
import { createSweepProcessor } from '../monitor/sweep.processor.js';
import type { RedisErrorReporter } from '../redis-error-reporter.js';
import { stalledCheckIntervalMs } from '../monitor/stalled-check-interval.js';
import type { DaemonQueues } from './queues.js';

/** What the sweep and poll workers are built from. */
export interface WorkerDeps {
  roles: readonly Role[];
  config: Config;
  redis: Redis;
  leaf: LeafClient;
  classifier: PollClassifier;
  inbox: UnclassifiedInbox;
  store: CredentialStore;
  queues: DaemonQueues;
  metrics: Metrics;
  logger: Logger;
  redisErrors: RedisErrorReporter;
}

/** The running BullMQ workers and their graceful stop. */
export interface DaemonWorkers {
  workers: Worker[];
  /** Stops taking jobs and waits for in-flight ones up to CREDWATCH_SHUTDOWN_TIMEOUT, then releases them. */
  close(): Promise<void>;
}

/** Declares the sweep schedule (scheduler role) and starts the sweep and poll workers the roles ask for. */
export async function startWorkers(deps: WorkerDeps): Promise<DaemonWorkers> {
  const { roles, config, leaf, store, queues, metrics, logger } = deps;
  const workerOptions = {
    connection: deps.redis,
    prefix: config.redis.prefix,
    lockDuration: config.monitor.jobLockDurationMs,
    stalledInterval: stalledCheckIntervalMs(config.monitor.jobLockDurationMs),
    maxStalledCount: 2,
  };
  const workers: Worker[] = [];
  if (roles.includes('scheduler')) {
    await upsertSchedules({ sweep: queues.sweep }, { pollIntervalMs: config.monitor.pollIntervalMs });
    const sweep = createSweepProcessor({
      leaf,
      store,
      pollQueue: queues.poll,
      providers: config.monitor.providers,
      metrics,
      logger: logger.child({ component: 'sweep' }),
    });
    workers.push(new Worker(QUEUES.sweep, sweep, { ...workerOptions, concurrency: 1 }));
  }
  if (roles.includes('worker')) {
    const poll = createPollProcessor({
      leaf,
      classifier: deps.classifier,
      store,
      metrics,
      logger: logger.child({ component: 'poll' }),
      queue: queues.poll,
      inbox: deps.inbox,
    });
    workers.push(
      new Worker(QUEUES.poll, poll, {
        ...workerOptions,
        concurrency: config.monitor.pollConcurrency,
        settings: { backoffStrategy: (attemptsMade: number) => jitteredBackoff(attemptsMade, 2000) },
      }),
    );
  }
  for (const worker of workers) {
    deps.redisErrors.watch(`worker:${worker.name}`, worker);
    worker.on('failed', (job, error) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        logger.error({ err: safeError(error), queue: worker.name, jobId: job.id }, 'job failed for good');
      }
    });
  }
  return {
    workers,
    async close() {
      const graceful = Promise.all(workers.map((w) => w.close()));
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.monitor.shutdownTimeoutMs).unref());
      if ((await Promise.race([graceful.then(() => 'done' as const), deadline])) === 'timeout') {
        logger.warn({ timeoutMs: config.monitor.shutdownTimeoutMs }, 'in-flight jobs did not finish in time; releasing them');
        await Promise.all(workers.map((w) => w.close(true)));
      }
    },
  };
}
