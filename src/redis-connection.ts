/** The daemon's Redis connection: one client (or Cluster) with logged, counted, rate-limited reconnects. */
import { Cluster, Redis } from 'ioredis';
import type { Config } from './config.js';
import { CredwatchError } from './errors.js';
import { safeError, type Logger } from './logger.js';
import type { Metrics } from './metrics/metrics.js';

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

/** Connects to Redis and fails with one clear line when it does not answer. */
export async function connectRedis(config: Config, logger: Logger, metrics: Metrics): Promise<Redis> {
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
  let lastErrorLog = 0;
  redis.on('error', (error) => {
    metrics.redisErrors.inc();
    // ioredis emits an error per reconnect attempt; one line every 10 s is enough to be seen.
    if (Date.now() - lastErrorLog > 10_000) {
      lastErrorLog = Date.now();
      logger.error({ err: safeError(error) }, 'Redis connection error; reconnecting');
    }
  });
  redis.on('reconnecting', () => metrics.redisErrors.inc());
  redis.on('ready', () => {
    if (lastErrorLog !== 0) logger.info('Redis connection restored');
  });
  try {
    await withTimeout(redis.connect(), 5000, `Redis at ${redactUrl(config.redis.url)} did not answer within 5 s`);
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new CredwatchError('REDIS_UNAVAILABLE', `cannot reach Redis at ${redactUrl(config.redis.url)}: ${(error as Error).message}`);
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
