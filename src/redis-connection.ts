/** The daemon's Redis connection: one client (or Cluster) with logged, counted, rate-limited reconnects. */
import { Cluster, Redis } from 'ioredis';
import type { Config } from './config.js';
import { CredwatchError } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics/metrics.js';
import { createRedisErrorReporter, type RedisErrorReporter } from './redis-error-reporter.js';

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CredwatchError('REDIS_UNAVAILABLE', message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function redactUrl(url: string): string {
  if (url.startsWith('redis+cluster://')) return url.replace(/\/\/[^@/]*@/, '//***@');
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://(unparsable)';
  }
}

/** One line naming why Redis refused: the system code (ECONNREFUSED, ENOTFOUND) or the auth error, then the message. */
export function describeRedisError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const message = error.message.replace(/\s+/g, ' ').trim();
  if (/WRONGPASS|NOAUTH|invalid username-password|invalid password/i.test(message)) return `authentication refused (${message})`;
  if (typeof code === 'string' && !message.includes(code)) return `${code} (${message})`;
  return message;
}

/** Connects to Redis and fails with one clear line when it does not answer. */
export async function connectRedis(config: Config, logger: Logger, metrics: Metrics, reporter?: RedisErrorReporter): Promise<Redis> {
  const retry = (times: number) => Math.min(times * 200, 5000);
  const cluster = config.redis.cluster;
  // A Cluster answers the same commands as a single Redis (scripts included, with the hash-tagged prefix
  // keeping every key in one slot); every part of the daemon is typed against Redis, hence the cast.
  const redis = cluster
    ? (new Cluster(cluster.nodes, {
        lazyConnect: true,
        clusterRetryStrategy: retry,
        redisOptions: { maxRetriesPerRequest: null, username: cluster.username, password: cluster.password },
      }) as unknown as Redis)
    : new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: null, retryStrategy: retry });
  // ioredis emits an error per reconnect attempt; the reporter logs one line every 10 s at most.
  const errors = reporter ?? createRedisErrorReporter(logger);
  let lastError: Error | undefined;
  let connected = false;
  redis.on('error', (error) => {
    lastError = error;
    metrics.redisErrors.inc();
    // Before the first connection the start error names the cause: no log line for each attempt.
    if (connected) errors.report('redis', error);
  });
  redis.on('reconnecting', () => metrics.redisErrors.inc());
  redis.on('ready', () => {
    if (connected && errors.sawConnectionError) logger.info('Redis connection restored');
    connected = true;
  });
  try {
    await withTimeout(redis.connect(), 5000, `Redis at ${redactUrl(config.redis.url)} did not answer within 5 s`);
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    // ioredis rejects connect() with "Connection is closed."; the cause (ECONNREFUSED, ENOTFOUND, WRONGPASS)
    // came with the last 'error' event.
    const cause = describeRedisError(lastError ?? error);
    throw new CredwatchError('REDIS_UNAVAILABLE', `cannot reach Redis at ${redactUrl(config.redis.url)}: ${cause}`);
  }
  try {
    const policy = (await redis.config('GET', 'maxmemory-policy')) as string[];
    if (policy[1] !== undefined && policy[1] !== 'noeviction') {
      logger.warn({ policy: policy[1] }, 'Redis maxmemory-policy is not noeviction: queue and state keys may be evicted');
    }
  } catch {
    // Managed Redis services often forbid CONFIG; the docs tell operators to set noeviction themselves.
  }
  return redis;
}
