import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { POLL_JOB_DEFAULTS, QUEUES } from '../monitor/schedules.js';
import type { RedisErrorReporter } from '../redis-error-reporter.js';
import { deliveryQueueName } from '../webhooks/delivery.processor.js';

/** The daemon's BullMQ queues: poll and sweep, plus read-only handles on each endpoint's delivery queue. */
export interface DaemonQueues {
  poll: Queue;
  sweep: Queue;
  deliveries: Queue[];
  /** Every queue, for the queue gauges. */
  all(): Queue[];
  close(): Promise<void>;
}

/** Opens the queues on the shared connection; each reports its errors through the process's reporter. */
export function createQueues(
  redis: Redis,
  prefix: string,
  endpointNames: readonly string[],
  redisErrors: RedisErrorReporter,
): DaemonQueues {
  const options = { connection: redis, prefix };
  // BullMQ keeps an events stream per queue (10 000 entries by default); nothing here reads it, so keep it short.
  const streams = { events: { maxLen: 1000 } };
  const poll = new Queue(QUEUES.poll, { ...options, streams, defaultJobOptions: POLL_JOB_DEFAULTS });
  const sweep = new Queue(QUEUES.sweep, { ...options, streams });
  const deliveries = endpointNames.map((name) => new Queue(deliveryQueueName(name), options));
  const all = () => [poll, sweep, ...deliveries];
  // Every BullMQ object gets a listener: without one a Queue prints plain-text stacks to stdout.
  for (const queue of all()) redisErrors.watch(`queue:${queue.name}`, queue);
  return {
    poll,
    sweep,
    deliveries,
    all,
    close: async () => void (await Promise.all(all().map((q) => q.close()))),
  };
}
