import type { Redis } from 'ioredis';
import { SLOT_HEADROOM } from '../leaf/budget-slots.js';
import type { PollSchedule } from './poll-schedule.js';

/**
 * Share of CREDWATCH_LEAF_RPS the budget hands out: slots are spaced a little wider than 1/rps so that
 * a request sent a few milliseconds late never puts rps + 1 requests into one second of Leaf's window.
 */
export const BUDGET_USABLE_SHARE = SLOT_HEADROOM;

/** Users per page of Leaf's user listing (the sweep asks for the maximum). */
const LISTING_PAGE_SIZE = 100;

/** Requests per poll assumed before any poll was measured: the first pass fetches the credential and its events. */
export const FIRST_PASS_REQUESTS_PER_POLL = 2;

/** Minutes of poll costs the measured requests per poll is averaged over. */
const COST_WINDOW_MINUTES = 5;

/** What the capacity is computed from. */
export interface CapacityInput {
  /** Credentials scheduled (every provider). */
  credentials: number;
  /** Leaf requests per poll (measured). */
  requestsPerPoll: number;
  /** CREDWATCH_LEAF_RPS. */
  rps: number;
  /** CREDWATCH_POLL_INTERVAL. */
  pollIntervalMs: number;
  /** Providers watched: the users listed are credentials / providers. */
  providers: number;
}

/** What the budget allows. */
export interface CapacityReport {
  credentials: number;
  requestsPerPoll: number;
  /** Whether requestsPerPoll was measured (false: no poll in the last 5 min; the first-pass figure is assumed). */
  measured: boolean;
  rps: number;
  /** Shortest time in which every credential can be polled once, listing included. */
  fullPassSeconds: number;
  configuredIntervalSeconds: number;
  /** The interval credwatch can keep: the configured one, or the full pass when that is longer. */
  achievableIntervalSeconds: number;
  /** Budget needed to keep the configured interval. */
  requiredRps: number;
  /** Share of the budget used over the last minute by every process; null when unknown. */
  utilization: number | null;
}

/** Leaf requests per second needed to poll `credentials` once per `intervalMs`, listing included (pure). */
export function requiredRps(credentials: number, requestsPerPoll: number, intervalMs: number, providers = 1): number {
  const listing = Math.ceil(credentials / Math.max(1, providers) / LISTING_PAGE_SIZE);
  return (credentials * requestsPerPoll + listing) / (intervalMs / 1000) / BUDGET_USABLE_SHARE;
}

/** The capacity report from its inputs (pure). */
export function computeCapacity(input: CapacityInput, utilization: number | null = null, measured = true): CapacityReport {
  const { credentials, requestsPerPoll, rps, pollIntervalMs, providers } = input;
  const usable = rps * BUDGET_USABLE_SHARE;
  const listing = Math.ceil(credentials / Math.max(1, providers) / LISTING_PAGE_SIZE);
  const fullPassSeconds = (credentials * requestsPerPoll + listing) / usable;
  const configuredIntervalSeconds = pollIntervalMs / 1000;
  return {
    credentials,
    requestsPerPoll,
    measured,
    rps,
    fullPassSeconds,
    configuredIntervalSeconds,
    achievableIntervalSeconds: Math.max(configuredIntervalSeconds, fullPassSeconds),
    requiredRps: requiredRps(credentials, requestsPerPoll, pollIntervalMs, providers),
    utilization,
  };
}

/** Requests per poll from the per-minute cost fields (`p<minute>`, `r<minute>`) of the last 5 minutes (pure). */
export function requestsPerPollFrom(
  fields: Record<string, string>,
  nowMs: number,
): { requestsPerPoll: number; polls: number; stale: string[] } {
  const current = Math.floor(nowMs / 60_000);
  let polls = 0;
  let requests = 0;
  const stale: string[] = [];
  for (const [field, value] of Object.entries(fields)) {
    const minute = Number(field.slice(1));
    if (!Number.isFinite(minute) || current - minute >= COST_WINDOW_MINUTES) {
      stale.push(field);
      continue;
    }
    if (field.startsWith('p')) polls += Number(value) || 0;
    else if (field.startsWith('r')) requests += Number(value) || 0;
  }
  return { requestsPerPoll: polls > 0 ? requests / polls : FIRST_PASS_REQUESTS_PER_POLL, polls, stale };
}

/** Reads the capacity report from shared state: the same figures on every replica. */
export class CapacityReader {
  constructor(
    private readonly o: {
      redis: Redis;
      prefix: string;
      schedule: Pick<PollSchedule, 'counts'>;
      rps: number;
      pollIntervalMs: number;
      providers: number;
      /** The budget's usage over the last minute (null when the budget cannot tell). */
      utilization?: () => Promise<number | null>;
    },
  ) {}

  /** The report now; prunes cost fields older than the averaging window. */
  async read(nowMs: number): Promise<CapacityReport> {
    const key = `${this.o.prefix}:pollcost`;
    const [counts, fields, utilization] = await Promise.all([
      this.o.schedule.counts(nowMs),
      this.o.redis.hgetall(key),
      this.o.utilization ? this.o.utilization() : Promise.resolve(null),
    ]);
    const cost = requestsPerPollFrom(fields, nowMs);
    if (cost.stale.length > 0) await this.o.redis.hdel(key, ...cost.stale);
    const credentials = counts.reduce((sum, c) => sum + c.total, 0);
    return computeCapacity(
      {
        credentials,
        requestsPerPoll: cost.requestsPerPoll,
        rps: this.o.rps,
        pollIntervalMs: this.o.pollIntervalMs,
        providers: this.o.providers,
      },
      utilization,
      cost.polls > 0,
    );
  }
}

/** One line for the log and the status page: what the budget allows against what is configured (pure). */
export function describeCapacity(r: CapacityReport): string {
  const per = `${r.requestsPerPoll.toFixed(2)} requests/poll${r.measured ? '' : ' (assumed for a first pass)'}`;
  const pass = `${r.credentials} credentials × ${per} at ${r.rps} rps: a full pass takes at least ${formatSeconds(r.fullPassSeconds)}`;
  if (r.fullPassSeconds <= r.configuredIntervalSeconds)
    return `${pass}, within CREDWATCH_POLL_INTERVAL (${formatSeconds(r.configuredIntervalSeconds)})`;
  return (
    `${pass}, longer than CREDWATCH_POLL_INTERVAL (${formatSeconds(r.configuredIntervalSeconds)}): each credential is polled about every ` +
    `${formatSeconds(r.fullPassSeconds)}; keeping ${formatSeconds(r.configuredIntervalSeconds)} needs CREDWATCH_LEAF_RPS=${Math.ceil(r.requiredRps * 10) / 10}`
  );
}

function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}
