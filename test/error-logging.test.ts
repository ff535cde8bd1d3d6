import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LeafError, SafeCause } from '../src/leaf/errors.js';
import { createLogger, safeError } from '../src/logger.js';
import { createRedisErrorReporter, isRedisConnectionError } from '../src/redis-error-reporter.js';
import { stalledCheckIntervalMs } from '../src/monitor/stalled-check-interval.js';

function capture(): { logger: ReturnType<typeof createLogger>; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      out.push(String(chunk));
      done();
    },
  });
  return {
    logger: createLogger({ level: 'info', format: 'json', destination: sink }),
    lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('error serialisation in log lines', () => {
  it('keeps the Leaf error code, status and network cause when safeError runs before the err serializer', () => {
    const { logger, lines } = capture();
    const error = new LeafError('LEAF_UNAVAILABLE', 'Leaf get_events failed: network error', {
      operation: 'get_events',
      cause: new SafeCause('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED'),
    });
    logger.warn({ err: safeError(error) }, 'poll failed');
    const [line] = lines();
    expect(line?.['err']).toEqual({
      type: 'LeafError',
      message: 'Leaf get_events failed: network error',
      code: 'LEAF_UNAVAILABLE',
      causeCode: 'ECONNREFUSED',
      cause: 'connect ECONNREFUSED 127.0.0.1:9',
    });
    expect(JSON.stringify(line)).not.toContain('[object Object]');
  });

  it('is idempotent and still redacts a message passed as a plain object', () => {
    const once = safeError(Object.assign(new Error('boom'), { code: 'E1', status: 404 }));
    expect(safeError(once)).toEqual(once);
    expect(safeError({ message: 'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl' })['message']).not.toContain('eyJ');
  });
});

describe('Redis error reporter', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });

  it('tells connection errors from others', () => {
    expect(isRedisConnectionError(refused)).toBe(true);
    expect(isRedisConnectionError(new Error('Connection is closed.'))).toBe(true);
    expect(isRedisConnectionError(new Error('Missing lock for job 12'))).toBe(false);
  });

  it('logs a connection error at most once per 10 s for the whole process, whatever emits it', () => {
    const { logger, lines } = capture();
    let t = 0;
    const reporter = createRedisErrorReporter(logger, { now: () => t });
    for (let i = 0; i < 30; i += 1) {
      t = i * 100;
      reporter.report(i % 2 === 0 ? 'redis' : 'worker:poll', refused);
    }
    expect(lines()).toHaveLength(1);
    t = 10_001;
    reporter.report('queue:poll', refused);
    expect(lines()).toHaveLength(2);
    expect(lines()[1]).toMatchObject({ msg: 'Redis connection error; reconnecting', source: 'queue:poll', suppressedSinceLastLine: 29 });
    // Within an interval of the last connection error, a queue error is the outage's echo: counted, not printed.
    reporter.report('worker:poll', new Error('Missing key for job 1. moveToFinished'));
    expect(lines()).toHaveLength(2);
    t = 20_002;
    reporter.report('redis', refused);
    expect(lines()[2]).toMatchObject({ suppressedSinceLastLine: 1 });
    t = 30_003;
    reporter.report('worker:poll', new Error('Missing lock for job 12'));
    expect(lines()).toHaveLength(4);
    // The same kind of error for other jobs within the interval adds no line; another kind does.
    reporter.report('worker:poll', new Error('Missing lock for job 13'));
    expect(lines()).toHaveLength(4);
    reporter.report('worker:poll', new Error('Missing key for job 13. moveToFinished'));
    expect(lines()).toHaveLength(5);
  });
});

describe('stalled-job check interval', () => {
  it("checks often enough that a crashed worker's job comes back about one lock duration later", () => {
    expect(stalledCheckIntervalMs(30_000)).toBe(5000);
    expect(stalledCheckIntervalMs(2000)).toBe(1000);
    expect(stalledCheckIntervalMs(12_000)).toBe(2000);
  });
});
