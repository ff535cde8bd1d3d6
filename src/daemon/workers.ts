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
import { BUDGET_USABLE_SHARE, FIRST_PASS_REQUESTS_PER_POLL, describeCapacity, type CapacityReader } from '../monitor/capacity.js';
import type { PollSchedule } from '../monitor/poll-schedule.js';
import { PollReleaser } from '../monitor/poll-releaser.js';

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
  schedule: PollSchedule;
  capacity: CapacityReader;
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
  let releaser: PollReleaser | undefined;
  let stopTimers: () => void = () => undefined;
  if (roles.includes('scheduler')) {
    await upsertSchedules({ sweep: queues.sweep }, { pollIntervalMs: config.monitor.pollIntervalMs });
    const capacityLog = logger.child({ component: 'capacity' });
    const sweep = createSweepProcessor({
      leaf,
      store,
      schedule: deps.schedule,
      metrics,
      logger: logger.child({ component: 'sweep' }),
      afterListing: () => logCapacity(deps.capacity, capacityLog),
    });
    workers.push(new Worker(QUEUES.sweep, sweep, { ...workerOptions, concurrency: 1 }));
    // The releaser paces polls at what the budget sustains: rps over the measured requests per poll.
    let requestsPerPoll = FIRST_PASS_REQUESTS_PER_POLL;
    const refreshCost = () =>
      deps.capacity
        .read(Date.now())
        .then((r) => void (requestsPerPoll = r.requestsPerPoll))
        .catch(() => undefined);
    const costTimer = setInterval(() => void refreshCost(), 30_000);
    costTimer.unref();
    releaser = new PollReleaser({
      schedule: deps.schedule,
      pollQueue: queues.poll,
      logger: logger.child({ component: 'releaser' }),
      pollsPerSecond: () => (config.monitor.leafRps * BUDGET_USABLE_SHARE) / Math.max(1, requestsPerPoll),
    });
    releaser.start();
    stopTimers = () => clearInterval(costTimer);
    await logCapacity(deps.capacity, capacityLog);
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
      credentialMaxAgeMs: config.monitor.credentialMaxAgeMs,
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
      stopTimers();
      await releaser?.stop();
      const graceful = Promise.all(workers.map((w) => w.close()));
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.monitor.shutdownTimeoutMs).unref());
      if ((await Promise.race([graceful.then(() => 'done' as const), deadline])) === 'timeout') {
        logger.warn({ timeoutMs: config.monitor.shutdownTimeoutMs }, 'in-flight jobs did not finish in time; releasing them');
        await Promise.all(workers.map((w) => w.close(true)));
      }
    },
  };
}

/** Logs what the budget allows: info when the configured interval fits, a warning when it does not. */
async function logCapacity(capacity: CapacityReader, logger: Logger): Promise<void> {
  try {
    const r = await capacity.read(Date.now());
    const fields = {
      credentials: r.credentials,
      requestsPerPoll: Math.round(r.requestsPerPoll * 100) / 100,
      rps: r.rps,
      fullPassSeconds: Math.round(r.fullPassSeconds),
      pollIntervalSeconds: r.configuredIntervalSeconds,
      requiredRps: Math.ceil(r.requiredRps * 10) / 10,
    };
    if (r.fullPassSeconds > r.configuredIntervalSeconds) logger.warn(fields, describeCapacity(r));
    else logger.info(fields, describeCapacity(r));
  } catch (error) {
    logger.warn({ err: safeError(error) }, 'could not compute the polling capacity');
  }
}
