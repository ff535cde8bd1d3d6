/**
 * One place that logs Redis connection errors for the whole process, at most once per interval. ioredis
 * and every BullMQ Queue/Worker emit an `error` per reconnect attempt (a Queue without a listener even
 * prints a plain-text stack to stdout); a 3 s outage would otherwise give dozens of lines per process.
 */
import { safeError, type Logger } from './logger.js';

/** System codes and messages of a lost or refused Redis connection (as opposed to a bug or a bad job). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);
const CONNECTION_MESSAGE =
  /connection is closed|stream isn't writeable|connect (econnrefused|etimedout)|socket closed|read econnreset|getaddrinfo|max retries per request|enableofflinequeue|reached the max retries|loading redis is loading/i;

/** True when an error says Redis is unreachable (refused, reset, closed, timed out, unknown host). */
export function isRedisConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  return CONNECTION_MESSAGE.test(error.message);
}

/** Logs errors of Redis clients and BullMQ objects: connection errors rate-limited, others each time. */
export interface RedisErrorReporter {
  /** Reports an error event of `source` (e.g. `redis`, `queue:poll`, `worker:poll`). */
  report(source: string, error: unknown): void;
  /** Attaches `report` to an emitter's `error` event (every BullMQ Queue, Worker, QueueEvents, FlowProducer). */
  watch<T extends { on(event: 'error', listener: (error: Error) => void): unknown }>(source: string, emitter: T): T;
  /** True once a connection error was reported (for the "restored" line). */
  readonly sawConnectionError: boolean;
}

/** Builds the reporter of one process. `intervalMs` is the documented 10 s; `now` is injectable for tests. */
export function createRedisErrorReporter(
  logger: Logger,
  options: { intervalMs?: number; now?: () => number; onError?: () => void } = {},
): RedisErrorReporter {
  const intervalMs = options.intervalMs ?? 10_000;
  const now = options.now ?? Date.now;
  let lastLogAt: number | undefined;
  let lastConnectionErrorAt: number | undefined;
  let suppressed = 0;
  let saw = false;
  const otherLastLogAt = new Map<string, number>();
  const reporter: RedisErrorReporter = {
    report(source, error) {
      options.onError?.();
      if (!isRedisConnectionError(error)) {
        const t = now();
        if (lastConnectionErrorAt !== undefined && t - lastConnectionErrorAt < intervalMs) {
          // Within an interval of a lost connection, a queue error is the outage's echo: ioredis resends the
          // commands whose answer it lost, so BullMQ finds the job it had already finished ("Missing key for
          // job 1. moveToFinished"). It is counted with the outage's line, not printed as a new error.
          suppressed += 1;
          return;
        }
        // Other errors repeat per job after a Redis that lost its data ("Missing key for job 14"): one line
        // per kind of error and source every interval, the job numbers aside.
        const kind = `${source}|${error instanceof Error ? error.message.replace(/\d+/g, 'N') : 'non-error'}`;
        const last = otherLastLogAt.get(kind);
        if (last !== undefined && t - last < intervalMs) return;
        if (otherLastLogAt.size >= 200) otherLastLogAt.clear();
        otherLastLogAt.set(kind, t);
        logger.error({ err: safeError(error), source }, 'Redis or queue error');
        return;
      }
      saw = true;
      const t = now();
      lastConnectionErrorAt = t;
      if (lastLogAt !== undefined && t - lastLogAt < intervalMs) {
        suppressed += 1;
        return;
      }
      lastLogAt = t;
      logger.error({ err: safeError(error), source, suppressedSinceLastLine: suppressed }, 'Redis connection error; reconnecting');
      suppressed = 0;
    },
    watch(source, emitter) {
      emitter.on('error', (error: Error) => reporter.report(source, error));
      return emitter;
    },
    get sawConnectionError() {
      return saw;
    },
  };
  return reporter;
}
