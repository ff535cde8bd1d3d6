import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Rng } from './prng.js';
import { MALFORMED_COUNTER_LOCAL, MALFORMED_LOCAL, STARTED_LOCAL, sendLeafError } from './leaf-response.js';
import type { SimFaults, SimStats } from './types.js';

const WINDOW_MS = 1000;
/** The 429s kept in `rateLimitedRecent` (the newest; enough to tell a pattern, bounded in memory). */
export const RECENT_429_LIMIT = 100;
const MALFORMED_VARIANTS = ['truncated', 'truncated', 'html', 'empty'] as const;

/** Timestamps inside a sliding window, oldest first. */
class SlidingWindow {
  private times: number[] = [];
  private head = 0;

  count(now: number): number {
    while (this.head < this.times.length && (this.times[this.head] ?? 0) <= now - WINDOW_MS) this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  oldest(): number | undefined {
    return this.times[this.head];
  }

  add(now: number): void {
    this.times.push(now);
  }
}

/**
 * Stalls of the simulator's own event loop (a timer every STALL_TICK_MS firing late: garbage collection,
 * a long handler, the process waiting for a core). A request arriving during a stall is stamped when the
 * stall ends, later than it reached the socket; a 429 whose window's oldest request was stamped right
 * after a stall names it, so a bench can tell the simulator's lateness from the client's.
 */
export class StallWatch {
  private readonly stalls: Array<{ endMs: number; lengthMs: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private last = 0;

  start(now: () => number): void {
    if (this.timer !== undefined) return;
    this.last = now();
    this.timer = setInterval(() => {
      const t = now();
      const late = t - this.last - STALL_TICK_MS;
      this.last = t;
      if (late < STALL_MIN_MS) return;
      this.stalls.push({ endMs: t, lengthMs: late });
      if (this.stalls.length > 256) this.stalls.shift();
    }, STALL_TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The stalls seen, oldest first (at most 256). */
  recent(): ReadonlyArray<{ endMs: number; lengthMs: number }> {
    return this.stalls;
  }

  /** The stall that ended at most STALL_MATCH_MS before `stampMs` (the request was then stamped late by up to its length). */
  endingJustBefore(stampMs: number): number | null {
    for (let i = this.stalls.length - 1; i >= 0; i -= 1) {
      const s = this.stalls[i];
      if (s !== undefined && s.endMs <= stampMs && stampMs - s.endMs <= STALL_MATCH_MS) return s.lengthMs;
    }
    return null;
  }
}
const STALL_TICK_MS = 2;
const STALL_MIN_MS = 4;
const STALL_MATCH_MS = 3;

/** Names a Leaf request for the per-route counters (bounded set of names). */
export function routeName(req: Request): string {
  const path = req.path;
  if (path === '/api/authenticate') return 'authenticate';
  if (path.startsWith('/services/alerts/')) return 'webhooks';
  if (/^\/services\/usermanagement\/api\/users\/?$/.test(path)) return 'list_users';
  if (/\/panorama-credentials\/events\/?$/.test(path)) return 'get_events';
  if (/\/panorama-credentials\/?$/.test(path)) return 'get_credential';
  if (/\/users\/[^/]+\/[a-z-]+-credentials/.test(path)) return 'other_provider';
  return 'other';
}

/** Latency, 5xx answers, malformed bodies and a request-rate limit, applied to Leaf routes only. */
export class FaultInjector {
  private faults: SimFaults = { latencyMs: 0, errorRate: 0, malformedRate: 0, rateLimitRps: 0 };
  private readonly accepted = new SlidingWindow();
  private readonly stalls = new StallWatch();
  private readonly arrived = new SlidingWindow();

  constructor(
    private readonly rng: Rng,
    private readonly now: () => number,
    private readonly stats: SimStats,
    latencyMs = 0,
  ) {
    this.faults.latencyMs = latencyMs;
  }

  get(): SimFaults {
    return { ...this.faults };
  }

  /** Replaces the faults; fields left out are switched off. */
  set(faults: Partial<SimFaults>): SimFaults {
    this.faults = {
      latencyMs: faults.latencyMs ?? 0,
      errorRate: faults.errorRate ?? 0,
      malformedRate: faults.malformedRate ?? 0,
      rateLimitRps: faults.rateLimitRps ?? 0,
    };
    if (this.faults.rateLimitRps > 0) this.stalls.start(this.now);
    else this.stalls.stop();
    return this.get();
  }

  /** Leaf requests received during the last second. */
  currentRps(): number {
    return this.arrived.count(this.now());
  }

  middleware(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      const now = this.now();
      const route = routeName(req);
      this.stats.requests[route] = (this.stats.requests[route] ?? 0) + 1;
      this.arrived.count(now);
      this.arrived.add(now);
      const { rateLimitRps, latencyMs, errorRate, malformedRate } = this.faults;
      if (rateLimitRps > 0 && this.accepted.count(now) >= rateLimitRps) {
        const oldest = this.accepted.oldest() ?? now;
        this.stats.rateLimited += 1;
        this.stats.rateLimitedRecent.push({
          atMs: now,
          route,
          oldestAgeMs: now - oldest,
          oldestAfterStallMs: this.stalls.endingJustBefore(oldest),
        });
        if (this.stats.rateLimitedRecent.length > RECENT_429_LIMIT) this.stats.rateLimitedRecent.shift();
        res.set('Retry-After', String(Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1000))));
        sendLeafError(res, 429, 'Too many requests', 'ratelimited');
        return;
      }
      this.accepted.add(now);
      const proceed = () => {
        res.locals[STARTED_LOCAL] = process.hrtime.bigint();
        if (errorRate > 0 && this.rng.next() < errorRate) {
          this.stats.injectedErrors += 1;
          const status = this.rng.pick([500, 502, 503] as const);
          if (status === 503) res.set('Retry-After', '1');
          sendLeafError(res, status, 'Injected failure', 'internalServerError');
          return;
        }
        if (malformedRate > 0 && this.rng.next() < malformedRate) {
          res.locals[MALFORMED_LOCAL] = this.rng.pick(MALFORMED_VARIANTS);
          res.locals[MALFORMED_COUNTER_LOCAL] = () => {
            this.stats.malformedBodies += 1;
          };
        }
        next();
      };
      if (latencyMs > 0) setTimeout(proceed, latencyMs);
      else proceed();
    };
  }
}
