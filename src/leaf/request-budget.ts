import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CredwatchError } from '../errors.js';

/**
 * The request rate allowed towards Leaf. Every request (retries and logins included) takes one token
 * first; a 429's Retry-After pauses every holder of the budget.
 */
export interface RequestBudget {
  /** Resolves when one request may be sent now. Rejects when `signal` aborts. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Makes every later `acquire` (in every process sharing the budget) wait at least `ms` from now. */
  pauseFor(ms: number): Promise<void>;
}

/** Sleeps `ms`, rejecting early with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error(`aborted${reason === undefined ? '' : `: ${String(reason)}`}`);
}

function checkRps(rps: number, burst: number): void {
  if (!Number.isFinite(rps) || rps <= 0) throw new CredwatchError('INPUT_INVALID', `request budget: rps must be above 0, got ${rps}`);
  if (!Number.isInteger(burst) || burst < 1)
    throw new CredwatchError('INPUT_INVALID', `request budget: burst must be a whole number of at least 1, got ${burst}`);
}

/**
 * One GCRA step (the same arithmetic as the Redis script): given the stored theoretical arrival time,
 * answers how long to wait (0: go now) and the new arrival time to store when allowed.
 */
export function gcraStep(tat: number | undefined, nowMs: number, intervalMs: number, burst: number): { waitMs: number; tat: number } {
  const current = tat === undefined || tat < nowMs ? nowMs : tat;
  const allowAt = current - (burst - 1) * intervalMs;
  if (nowMs < allowAt) return { waitMs: Math.ceil(allowAt - nowMs), tat: current };
  return { waitMs: 0, tat: current + intervalMs };
}

/** A budget for one process: GCRA in memory. `burst` 1 spaces requests evenly at 1/rps. */
export class MemoryRequestBudget implements RequestBudget {
  private readonly intervalMs: number;
  private tat: number | undefined;

  constructor(
    readonly rps: number,
    private readonly burst = 1,
    private readonly now: () => number = Date.now,
  ) {
    checkRps(rps, burst);
    this.intervalMs = 1000 / rps;
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const step = gcraStep(this.tat, this.now(), this.intervalMs, this.burst);
      this.tat = step.tat;
      if (step.waitMs === 0) return;
      await sleep(step.waitMs, signal);
    }
  }

  async pauseFor(ms: number): Promise<void> {
    const until = this.now() + Math.max(0, ms) + (this.burst - 1) * this.intervalMs;
    this.tat = Math.max(this.tat ?? 0, until);
  }
}

// KEYS[1]: the budget key (holds the theoretical arrival time, ms, from Redis TIME).
// ARGV[1]: interval ms; ARGV[2]: burst; ARGV[3]: 'acquire' or 'pause'; ARGV[4]: pause ms.
// Answers the milliseconds to wait (0: the token is taken). One round trip per acquire.
const GCRA_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if ARGV[3] == 'pause' then
  local untilMs = now + tonumber(ARGV[4]) + (burst - 1) * interval
  if untilMs > tat then tat = untilMs end
  redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
  return 0
end
local allowAt = tat - (burst - 1) * interval
if now < allowAt then return math.ceil(allowAt - now) end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
return 0
`;

/**
 * A budget shared by every process using the same Redis key: GCRA in one Lua script with Redis's own
 * clock, so the combined rate of all processes never exceeds `rps`.
 */
export class RedisRequestBudget implements RequestBudget {
  private readonly redis: Redis;
  private readonly key: string;
  private readonly intervalMs: number;
  private readonly burst: number;

  constructor(options: { redis: Redis; key: string; rps: number; burst?: number }) {
    this.burst = options.burst ?? 1;
    checkRps(options.rps, this.burst);
    this.redis = options.redis;
    this.key = options.key;
    this.intervalMs = 1000 / options.rps;
  }

  /** Callers of this process queue here, so one of them at a time asks Redis (no herd on each slot). */
  private turn: Promise<void> = Promise.resolve();

  acquire(signal?: AbortSignal): Promise<void> {
    const mine = this.turn.then(() => this.acquireNow(signal));
    this.turn = mine.catch(() => undefined);
    return mine;
  }

  private async acquireNow(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const waitMs = await this.run('acquire', 0);
      if (waitMs <= 0) return;
      await sleep(waitMs, signal);
    }
  }

  async pauseFor(ms: number): Promise<void> {
    await this.run('pause', Math.max(0, Math.ceil(ms)));
  }

  private async run(mode: 'acquire' | 'pause', pauseMs: number): Promise<number> {
    const args = [String(this.intervalMs), String(this.burst), mode, String(pauseMs)];
    // EVALSHA with a fallback to EVAL when the script cache was flushed.
    const answer: unknown = await this.redis.evalsha(RedisRequestBudget.sha, 1, this.key, ...args).catch((error: unknown) => {
      if (error instanceof Error && error.message.includes('NOSCRIPT')) return this.redis.eval(GCRA_SCRIPT, 1, this.key, ...args);
      throw error;
    });
    return typeof answer === 'number' ? answer : Number(answer);
  }

  private static readonly sha = createHash('sha1').update(GCRA_SCRIPT).digest('hex');
}
