import {
  lateSendShiftMs,
  lateWakeToleranceMs,
  onWake,
  reserveSlots,
  pauseSlots,
  shiftSlots,
  ShiftCoalescer,
  slotPolicy,
  type BudgetStats,
  type SlotPolicy,
  type SlotState,
} from './budget-slots.js';
import { abortError, sleep } from './sleep.js';

export { sleep } from './sleep.js';
export { RedisRequestBudget, type BudgetUsage } from './redis-request-budget.js';
export {
  reserveSlots,
  pauseSlots,
  onWake,
  SLOT_HEADROOM,
  RESERVE_HORIZON_MS,
  LATE_WAKE_TOLERANCE_MS,
  lateWakeToleranceMs,
  COLD_START_MS,
  COLD_START_SPACING,
  type BudgetStats,
} from './budget-slots.js';

/**
 * The request rate allowed towards Leaf. Every request (retries and logins included) takes one token
 * first; a 429's Retry-After pauses every holder of the budget.
 */
export interface RequestBudget {
  /** Resolves when one request may be sent now, with its slot (epoch ms, this process's clock). Rejects when `signal` aborts. */
  acquire(signal?: AbortSignal): Promise<number>;
  /** Makes every later `acquire` (in every process sharing the budget) wait at least `ms` from now. */
  pauseFor(ms: number): Promise<void>;
  /**
   * Says a request reached its socket `latenessMs` after its slot; when that could put `rps + 1` arrivals
   * in one second (lateSendShiftMs), the slots not yet reserved move later (true). Never throws.
   */
  sentLate(latenessMs: number): Promise<boolean>;
}

/**
 * One classic GCRA step (ask, and wait when told to): given the stored theoretical arrival time, answers
 * how long to wait (0: go now) and the new arrival time to store when allowed. The budgets reserve slots
 * ahead instead (`reserveSlots`); this stays for callers that want the one-shot answer.
 */
export function gcraStep(tat: number | undefined, nowMs: number, intervalMs: number, burst: number): { waitMs: number; tat: number } {
  const current = tat === undefined || tat < nowMs ? nowMs : tat;
  const allowAt = current - (burst - 1) * intervalMs;
  if (nowMs < allowAt) return { waitMs: Math.ceil(allowAt - nowMs), tat: current };
  return { waitMs: 0, tat: current + intervalMs };
}

/** A budget for one process: the same slot reservation as the Redis script, in memory. */
export class MemoryRequestBudget implements RequestBudget {
  private readonly policy: SlotPolicy;
  private state: SlotState = { tat: 0, pausedUntil: 0, rampUntil: 0 };
  private readonly counts: BudgetStats = { granted: 0, lateWakes: 0, pausedDrops: 0, roundTrips: 0, lateSends: 0 };
  private readonly shifts = new ShiftCoalescer();
  private readonly lateToleranceMs: number;

  constructor(
    readonly rps: number,
    burst = 1,
    private readonly now: () => number = Date.now,
  ) {
    this.policy = slotPolicy(rps, burst);
    this.lateToleranceMs = lateWakeToleranceMs(this.policy);
  }

  async acquire(signal?: AbortSignal): Promise<number> {
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const nowMs = this.now();
      const before = this.state.tat;
      const step = reserveSlots(this.state, nowMs, this.policy, 1);
      this.state = step.state;
      const slot = step.slots[0];
      if (slot === undefined) {
        await sleep(step.retryInMs, signal);
        continue;
      }
      if (slot > nowMs) {
        try {
          await sleep(slot - nowMs, signal);
        } catch (error) {
          // Nobody reserved after this slot: give it back.
          if (this.state.tat === step.state.tat) this.state.tat = before;
          throw error;
        }
      }
      const verdict = onWake(slot, this.now(), this.state.pausedUntil, this.lateToleranceMs);
      if (verdict === 'send') {
        this.counts.granted += 1;
        return slot;
      }
      if (verdict === 'late') this.counts.lateWakes += 1;
      else this.counts.pausedDrops += 1;
    }
  }

  async pauseFor(ms: number): Promise<void> {
    this.state = pauseSlots(this.state, this.now(), this.policy, ms);
  }

  async sentLate(latenessMs: number): Promise<boolean> {
    const shift = lateSendShiftMs(this.policy, this.rps, latenessMs);
    if (shift <= 0) return false;
    this.counts.lateSends += 1;
    const now = this.now();
    const owed = this.shifts.owed(now - latenessMs, shift);
    if (owed > 0) {
      this.shifts.record(Math.max(this.state.tat, now), owed);
      this.state = shiftSlots(this.state, now, owed);
    }
    return true;
  }

  /** Slots sent and dropped so far by this instance. */
  stats(): BudgetStats {
    return { ...this.counts };
  }
}
