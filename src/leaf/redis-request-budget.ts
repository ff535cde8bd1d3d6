import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { loadLuaScript, type LuaScript } from '../core/lua-script.js';
import {
  COLD_START_MS,
  COLD_START_SPACING,
  lateSendShiftMs,
  lateWakeToleranceMs,
  onWake,
  ShiftCoalescer,
  slotPolicy,
  type BudgetStats,
  type SlotPolicy,
} from './budget-slots.js';
import { abortError, sleep } from './sleep.js';

/** Reserves slots or pauses the budget (scripts/reserve-slots.lua); mirrors reserveSlots/pauseSlots. */
const RESERVE_SCRIPT = loadLuaScript(new URL('./scripts/reserve-slots.lua', import.meta.url), {
  constants: { COLD_START_MS, COLD_START_SPACING },
});

/** Reads the usage buckets with Redis's clock (scripts/budget-usage.lua). */
const USAGE_SCRIPT = loadLuaScript(new URL('./scripts/budget-usage.lua', import.meta.url));

/** A usage bucket counts once it ended this long ago: a late holder's "not sent" may still be on its way. */
const USAGE_GRACE_MS = 1000;
/** Clock samples kept; the one with the shortest round trip gives the offset to Redis's clock. */
const CLOCK_SAMPLES = 16;

/** Slots granted for sending during the complete usage buckets of a window, by every process sharing the budget. */
export interface BudgetUsage {
  granted: number;
  /** granted / (rps × window seconds); at most SLOT_HEADROOM when callers always wait. */
  utilization: number;
  /** The window actually read: whole buckets, ending at least USAGE_GRACE_MS ago. */
  windowMs: number;
}

interface Waiter {
  resolve(slot: number): void;
  reject(error: Error): void;
  /** Set once the waiter gave up (abort): a slot reserved for it is dropped. */
  gone: boolean;
}

function localNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * A budget shared by every process using the same Redis key. One Lua call reserves each caller's own
 * future slot (Redis TIME is the one clock), so the shared rate keeps flowing while callers sleep until
 * their slots, and a late timer loses only its own slot. The callers of one process queue locally and
 * one round trip at a time reserves a slot for every caller queued.
 */
export class RedisRequestBudget {
  private readonly redis: Redis;
  private readonly keys: [string, string, string, string];
  private readonly policy: SlotPolicy;
  private readonly rps: number;
  private readonly usageBucketMs: number;
  private readonly usageTtlMs: number;
  private readonly maxBatch: number;
  private readonly queue: Waiter[] = [];
  private busy = false;
  /** Buckets of slots reserved but not sent, uncounted with the next reservation. */
  private readonly dropped: number[] = [];
  private pausedUntil = 0;
  private readonly clock: Array<{ rttMs: number; offsetMs: number }> = [];
  private offsetMs = 0;
  private readonly counts: BudgetStats = { granted: 0, lateWakes: 0, pausedDrops: 0, roundTrips: 0, lateSends: 0 };
  private readonly shifts = new ShiftCoalescer();
  private readonly lateToleranceMs: number;

  constructor(options: {
    redis: Redis;
    key: string;
    rps: number;
    burst?: number;
    /** How far ahead a slot may be reserved (default RESERVE_HORIZON_MS). */
    horizonMs?: number;
    /** Width of a usage bucket (default 10 s). */
    usageBucketMs?: number;
    /** Most slots one round trip reserves for this process's queued callers (default 64). */
    maxBatch?: number;
  }) {
    this.policy = slotPolicy(options.rps, options.burst ?? 1, options.horizonMs);
    this.lateToleranceMs = lateWakeToleranceMs(this.policy);
    this.rps = options.rps;
    this.redis = options.redis;
    this.keys = [options.key, `${options.key}:usage`, `${options.key}:paused`, `${options.key}:ramp`];
    this.usageBucketMs = options.usageBucketMs ?? 10_000;
    this.usageTtlMs = Math.max(120_000, 12 * this.usageBucketMs);
    this.maxBatch = options.maxBatch ?? 64;
  }

  async acquire(signal?: AbortSignal): Promise<number> {
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const slot = await this.reserve(signal);
      try {
        for (let wait = slot - this.redisNow(); wait > 0; wait = slot - this.redisNow()) await sleep(wait, signal);
      } catch (error) {
        this.dropped.push(this.bucketOf(slot));
        throw error;
      }
      const verdict = onWake(slot, this.redisNow(), this.pausedUntil, this.lateToleranceMs);
      if (verdict === 'send') {
        this.counts.granted += 1;
        return slot - this.offsetMs;
      }
      if (verdict === 'late') this.counts.lateWakes += 1;
      else this.counts.pausedDrops += 1;
      this.dropped.push(this.bucketOf(slot));
    }
  }

  async pauseFor(ms: number): Promise<void> {
    const pauseMs = Math.max(0, Math.ceil(ms));
    // This process's holders of earlier slots drop them at once; other processes learn it with their next reservation.
    this.pausedUntil = Math.max(this.pausedUntil, this.redisNow() + pauseMs);
    const answer = await this.run(RESERVE_SCRIPT, this.keys, this.args('pause', pauseMs, []));
    this.pausedUntil = Math.max(this.pausedUntil, Number(answer[1] ?? 0));
  }

  async sentLate(latenessMs: number): Promise<boolean> {
    const shift = lateSendShiftMs(this.policy, this.rps, latenessMs);
    if (shift <= 0) return false;
    this.counts.lateSends += 1;
    // The late request's slot on Redis's clock, from the local report: a little later than the true slot
    // when the report comes after the write, which only counts fewer shifts as covering it.
    const owed = this.shifts.owed(this.redisNow() - latenessMs, shift);
    if (owed <= 0) return true;
    try {
      const answer = await this.run(RESERVE_SCRIPT, this.keys, this.args('shift', owed, []));
      this.shifts.record(Number(answer[2]), owed);
    } catch {
      // Best effort: a lost shift leaves the budget as it was, which the 429 handling covers.
    }
    return true;
  }

  /** Slots granted for sending by every process in the last `windowMs` (whole usage buckets), and the share of the rate. */
  async usage(windowMs = 60_000): Promise<BudgetUsage> {
    const answer = await this.run(USAGE_SCRIPT, [this.keys[1]], []);
    const nowMs = Number(answer[0] ?? 0);
    const buckets = Math.max(1, Math.min(Math.round(windowMs / this.usageBucketMs), Math.floor(this.usageTtlMs / this.usageBucketMs) - 1));
    const last = Math.floor((nowMs - USAGE_GRACE_MS) / this.usageBucketMs) - 1;
    let granted = 0;
    for (let i = 1; i + 1 < answer.length; i += 2) {
      const bucket = Number(answer[i]);
      if (bucket > last - buckets && bucket <= last) granted += Number(answer[i + 1]);
    }
    const seconds = (buckets * this.usageBucketMs) / 1000;
    return { granted, utilization: granted / (this.rps * seconds), windowMs: buckets * this.usageBucketMs };
  }

  /** Slots sent and dropped so far by this instance, and its reservation round trips. */
  stats(): BudgetStats {
    return { ...this.counts };
  }

  private redisNow(): number {
    return localNow() + this.offsetMs;
  }

  private bucketOf(slot: number): number {
    return Math.floor(slot / this.usageBucketMs);
  }

  /** Queues for a slot; the queue's head round trip reserves one for every caller queued. */
  private reserve(signal: AbortSignal | undefined): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const onAbort = () => {
        waiter.gone = true;
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        reject(abortError(signal));
      };
      const waiter: Waiter = {
        gone: false,
        resolve: (slot) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(slot);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.pump();
    });
  }

  private pump(): void {
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    const batch = this.queue.splice(0, this.maxBatch);
    void this.reserveFor(batch).then((retryInMs) => {
      if (retryInMs > 0 && this.queue.length > 0) {
        // Come back when a quarter of the horizon has freed, so that one round trip serves several callers;
        // the slots reserved meanwhile still reach that far ahead, so the budget does not idle.
        setTimeout(
          () => {
            this.busy = false;
            this.pump();
          },
          retryInMs + this.policy.horizonMs / 4,
        );
      } else {
        this.busy = false;
        this.pump();
      }
    });
  }

  /** One round trip for `batch`; answers the ms to wait before the next one when slots ran past the horizon. */
  private async reserveFor(batch: Waiter[]): Promise<number> {
    const dropped = this.dropped.splice(0);
    const sentAt = localNow();
    let answer: string[];
    try {
      this.counts.roundTrips += 1;
      answer = await this.run(RESERVE_SCRIPT, this.keys, this.args('reserve', batch.length, dropped));
    } catch (error) {
      for (const waiter of batch) if (!waiter.gone) waiter.reject(error instanceof Error ? error : new Error(String(error)));
      return 0;
    }
    this.observeClock(Number(answer[0]), sentAt, localNow());
    this.pausedUntil = Math.max(this.pausedUntil, Number(answer[1] ?? 0));
    const slots = answer.slice(3).map(Number);
    batch.forEach((waiter, i) => {
      const slot = slots[i];
      if (slot === undefined) return;
      if (waiter.gone) this.dropped.push(this.bucketOf(slot));
      else waiter.resolve(slot);
    });
    // Callers past the horizon keep their place at the head of the queue.
    this.queue.unshift(...batch.slice(slots.length).filter((waiter) => !waiter.gone));
    return Number(answer[2] ?? 0);
  }

  /** Keeps the offset to Redis's clock from the recent sample with the shortest round trip (error ≤ half of it). */
  private observeClock(redisMs: number, sentAt: number, receivedAt: number): void {
    if (!Number.isFinite(redisMs)) return;
    this.clock.push({ rttMs: receivedAt - sentAt, offsetMs: redisMs - (sentAt + receivedAt) / 2 });
    if (this.clock.length > CLOCK_SAMPLES) this.clock.shift();
    let best = this.clock[0];
    for (const sample of this.clock) if (best === undefined || sample.rttMs < best.rttMs) best = sample;
    if (best) this.offsetMs = best.offsetMs;
  }

  private args(mode: 'reserve' | 'pause' | 'shift', countOrMs: number, dropped: number[]): string[] {
    const { intervalMs, burst, horizonMs } = this.policy;
    return [
      String(intervalMs),
      String(burst),
      String(horizonMs),
      mode,
      String(countOrMs),
      String(this.usageBucketMs),
      String(this.usageTtlMs),
      ...dropped.map(String),
    ];
  }

  private async run(script: LuaScript, keys: string[], args: string[]): Promise<string[]> {
    const answer = await script.run(this.redis, keys, args);
    return Array.isArray(answer) ? answer.map(String) : [];
  }
}
