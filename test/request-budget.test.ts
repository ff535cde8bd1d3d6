import { describe, expect, it } from 'vitest';
import {
  COLD_START_MS,
  COLD_START_SPACING,
  LATE_WAKE_TOLERANCE_MS,
  MemoryRequestBudget,
  RESERVE_HORIZON_MS,
  SLOT_HEADROOM,
  onWake,
  pauseSlots,
  reserveSlots,
} from '../src/leaf/request-budget.js';
import {
  LATE_SEND_MARGIN_MS,
  LATE_SEND_FREE_MS,
  ShiftCoalescer,
  lateSendShiftMs,
  lateWakeToleranceMs,
  shiftSlots,
  slotPolicy,
  type SlotPolicy,
  type SlotState,
} from '../src/leaf/budget-slots.js';

const policy: SlotPolicy = { intervalMs: 100, burst: 1, horizonMs: 300 };

describe('reserveSlots (the Redis script step, in TypeScript)', () => {
  const cases: Array<{ name: string; state: SlotState; now: number; count: number; slots: number[]; retryInMs: number; tat: number }> = [
    {
      name: 'an idle budget grants now',
      state: { tat: 0, pausedUntil: 0, rampUntil: 0 },
      now: 1000,
      count: 1,
      slots: [1000],
      retryInMs: 0,
      tat: 1100,
    },
    {
      name: 'a slot nobody asked for in time is not kept',
      state: { tat: 900, pausedUntil: 0, rampUntil: 0 },
      now: 1000,
      count: 1,
      slots: [1000],
      retryInMs: 0,
      tat: 1100,
    },
    {
      name: 'the next free slot, even in the future',
      state: { tat: 1250, pausedUntil: 0, rampUntil: 0 },
      now: 1000,
      count: 1,
      slots: [1250],
      retryInMs: 0,
      tat: 1350,
    },
    {
      name: 'several callers at once get consecutive slots',
      state: { tat: 1000, pausedUntil: 0, rampUntil: 0 },
      now: 1000,
      count: 3,
      slots: [1000, 1100, 1200],
      retryInMs: 0,
      tat: 1300,
    },
    {
      name: 'slots stop at the horizon; the rest come back when one fits',
      state: { tat: 1000, pausedUntil: 0, rampUntil: 0 },
      now: 1000,
      count: 6,
      slots: [1000, 1100, 1200, 1300],
      retryInMs: 100,
      tat: 1400,
    },
    {
      name: 'beyond the horizon nothing is reserved and the state is unchanged',
      state: { tat: 1450, pausedUntil: 0, rampUntil: 0 },
      now: 1000,
      count: 1,
      slots: [],
      retryInMs: 150,
      tat: 1450,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = reserveSlots(c.state, c.now, policy, c.count);
      expect(result.slots).toEqual(c.slots);
      expect(result.retryInMs).toBe(c.retryInMs);
      expect(result.state.tat).toBe(c.tat);
    });
  }

  it('after a quiet second, spaces the next second of slots 5 % wider (cold connections arrive late)', () => {
    const cold = reserveSlots({ tat: 3000, pausedUntil: 0, rampUntil: 0 }, 5000, { ...policy, horizonMs: 2000 }, 12);
    expect(cold.state.rampUntil).toBe(5000 + COLD_START_MS);
    expect(cold.slots.slice(0, 3)).toEqual([5000, 5000 + 100 * COLD_START_SPACING, 5000 + 200 * COLD_START_SPACING]);
    const last = cold.slots.at(-1) ?? 0;
    expect(last - (cold.slots.at(-2) ?? 0)).toBeCloseTo(100, 6);
    // Busy again: no new widening.
    expect(reserveSlots(cold.state, 5100, policy, 1).state.rampUntil).toBe(6000);
  });

  it('with a burst, lets `burst` slots go at once after idling, then spaces them', () => {
    const result = reserveSlots({ tat: 0, pausedUntil: 0, rampUntil: 0 }, 1000, { ...policy, burst: 3 }, 4);
    expect(result.slots).toEqual([1000, 1000, 1000, 1100]);
  });

  it('never puts more than rps slots in any 1 s window, at any rate, and reaches the rate less the headroom', () => {
    for (const rps of [1, 7, 20, 50, 333]) {
      const p: SlotPolicy = { intervalMs: 1000 / (rps * SLOT_HEADROOM), burst: 1, horizonMs: RESERVE_HORIZON_MS };
      let state: SlotState = { tat: 0, pausedUntil: 0, rampUntil: 0 };
      const slots: number[] = [];
      for (let now = 0; now < 20_000; now += 13) {
        const step = reserveSlots(state, now, p, 5);
        state = step.state;
        slots.push(...step.slots);
      }
      for (let i = rps; i < slots.length; i += 1) expect((slots[i] ?? 0) - (slots[i - rps] ?? 0)).toBeGreaterThan(1000 + 10);
      const inFirst20s = slots.filter((s) => s < 20_000).length;
      expect(inFirst20s / (rps * 20)).toBeGreaterThanOrEqual(SLOT_HEADROOM - 1 / (rps * 20) - 0.001);
    }
  });
});

describe('pauseSlots and onWake', () => {
  it('a pause pushes the next slot past its end and marks earlier slots to drop', () => {
    const paused = pauseSlots({ tat: 1100, pausedUntil: 0, rampUntil: 0 }, 1000, policy, 500);
    expect(paused).toEqual({ tat: 1500, pausedUntil: 1500, rampUntil: 0 });
    expect(reserveSlots(paused, 1000, { ...policy, horizonMs: 1000 }, 1).slots).toEqual([1500]);
    expect(onWake(1100, 1100, paused.pausedUntil, LATE_WAKE_TOLERANCE_MS)).toBe('paused');
    expect(onWake(1500, 1500, paused.pausedUntil, LATE_WAKE_TOLERANCE_MS)).toBe('send');
  });

  it('a shorter pause does not shorten a longer one', () => {
    expect(pauseSlots({ tat: 3000, pausedUntil: 3000, rampUntil: 0 }, 1000, policy, 100)).toEqual({
      tat: 3000,
      pausedUntil: 3000,
      rampUntil: 0,
    });
  });

  it('sends within the late-wake tolerance and drops the slot beyond it', () => {
    expect(onWake(1000, 1000 + 24, 0, 24)).toBe('send');
    expect(onWake(1000, 1000 + 24.5, 0, 24)).toBe('late');
  });

  it('lets a holder send late only while the shift it may cause costs no more than its slot', () => {
    for (const rps of [1, 10, 50, 200, 10_000]) {
      const policy = slotPolicy(rps);
      const tolerance = lateWakeToleranceMs(policy);
      expect(tolerance).toBeLessThanOrEqual(LATE_WAKE_TOLERANCE_MS);
      expect(lateSendShiftMs(policy, rps, tolerance)).toBeLessThanOrEqual(policy.intervalMs + 1e-9);
    }
    expect(lateWakeToleranceMs(slotPolicy(10))).toBe(LATE_WAKE_TOLERANCE_MS);
    expect(lateWakeToleranceMs(slotPolicy(50))).toBeCloseTo(LATE_SEND_FREE_MS + 1000 / (50 * SLOT_HEADROOM), 9);
    // At 10 000 rps a slot is 0.1 ms: a late holder drops it rather than move the budget by milliseconds.
    expect(lateWakeToleranceMs(slotPolicy(10_000))).toBeLessThan(4.3);
  });
});

describe('lateSendShiftMs and shiftSlots (a request that reached its socket late)', () => {
  const at50 = slotPolicy(50);
  // 50 slots span 50 × 20.2 = 1010.1 ms: 10.1 ms of slack before the 51st falls in the late one's second.
  const slack = 50 * at50.intervalMs - 1000;

  it('moves nothing while the lateness and the margin fit in the slack', () => {
    expect(lateSendShiftMs(at50, 50, 0)).toBe(0);
    expect(lateSendShiftMs(at50, 50, slack - LATE_SEND_MARGIN_MS - 0.01)).toBe(0);
  });

  it('never moves a slot for lateness up to LATE_SEND_FREE_MS, at any rate, and does just beyond it', () => {
    for (const rps of [1, 10, 50, 10_000]) {
      const policy = slotPolicy(rps);
      expect(lateSendShiftMs(policy, rps, LATE_SEND_FREE_MS)).toBeCloseTo(0, 9);
      expect(lateSendShiftMs(policy, rps, LATE_SEND_FREE_MS + 0.1)).toBeGreaterThan(0.09);
    }
  });

  it('moves the later slots by the shortfall beyond it', () => {
    expect(lateSendShiftMs(at50, 50, 25)).toBeCloseTo(25 + LATE_SEND_MARGIN_MS - slack, 6);
    expect(shiftSlots({ tat: 2000, pausedUntil: 0, rampUntil: 0 }, 1500, 12)).toEqual({ tat: 2012, pausedUntil: 0, rampUntil: 0 });
    // An idle budget (tat in the past) moves from now.
    expect(shiftSlots({ tat: 900, pausedUntil: 0, rampUntil: 0 }, 1500, 12).tat).toBe(1512);
  });

  it('keeps the request rps slots later unreserved when the shift is made (horizon under 1 s)', () => {
    // At the late send (slot + lateness) the reservations reach slot + lateness + horizon; the request
    // rps slots later sits at slot + rps × interval. Up to this lateness it is still free to move.
    expect(50 * at50.intervalMs - RESERVE_HORIZON_MS).toBeGreaterThan(100);
  });
});

describe('ShiftCoalescer', () => {
  it('counts for a late slot only the shifts made after that slot was reserved', () => {
    const shifts = new ShiftCoalescer();
    expect(shifts.owed(1500, 10)).toBe(10);
    shifts.record(2000, 10); // the next free slot was 2000: slots from 2000 on moved 10 ms
    // Slot 1500 was reserved before it: the request rps slots after it moved, so 10 ms is covered.
    expect(shifts.owed(1500, 10)).toBe(0);
    expect(shifts.owed(1500, 15)).toBe(5);
    // Slot 2100 was reserved after it: both it and the request rps slots after it moved. Nothing is covered.
    expect(shifts.owed(2100, 10)).toBe(10);
    shifts.record(2500, 5);
    expect(shifts.owed(2100, 12)).toBe(7);
    expect(shifts.owed(1500, 15)).toBe(0);
    // Shifts from more than 2 s before the newest are forgotten.
    shifts.record(4600, 1);
    expect(shifts.owed(1500, 15)).toBe(14);
  });

  it('keeps a budget at its rate when every send is late (no stacking)', async () => {
    const clock = 50_000;
    const budget = new MemoryRequestBudget(50, 1, () => clock);
    const first = await budget.acquire();
    const policy50 = slotPolicy(50);
    const spacing = policy50.intervalMs * COLD_START_SPACING;
    for (let i = 0; i < 5; i += 1) expect(await budget.sentLate(30)).toBe(true);
    // Five late sends in the same second move the next slot once.
    expect(await budget.acquire()).toBeCloseTo(first + spacing + lateSendShiftMs(policy50, 50, 30), 6);
    expect(budget.stats().lateSends).toBe(5);
  });
});

describe('MemoryRequestBudget', () => {
  it('moves its next slot after a late send, and not after a send within the slack', async () => {
    const clock = 50_000; // held still: each acquire sleeps for real until its slot, then sends (never late)
    const policy50 = slotPolicy(50);
    const spacing = policy50.intervalMs * COLD_START_SPACING; // the first second after idling is spaced wider
    const budget = new MemoryRequestBudget(50, 1, () => clock);
    const first = await budget.acquire();
    expect(first).toBe(clock);
    expect(await budget.sentLate(3)).toBe(false);
    expect(await budget.acquire()).toBeCloseTo(first + spacing, 6);
    expect(await budget.sentLate(30)).toBe(true);
    expect(await budget.acquire()).toBeCloseTo(first + 2 * spacing + lateSendShiftMs(policy50, 50, 30), 6);
    expect(budget.stats()).toMatchObject({ granted: 3, lateSends: 1 });
  });

  it('moves the slots again for a late request whose slot came after an earlier shift', async () => {
    let clock = 50_000;
    const policy50 = slotPolicy(50);
    const spacing = policy50.intervalMs * COLD_START_SPACING;
    const budget = new MemoryRequestBudget(50, 1, () => clock);
    const first = await budget.acquire();
    expect(await budget.sentLate(30)).toBe(true);
    const second = await budget.acquire(); // reserved after the shift
    expect(second).toBeCloseTo(first + spacing + lateSendShiftMs(policy50, 50, 30), 6);
    // `second` goes out 25 ms late, less than the first shift: but that shift moved `second` and the
    // request rps slots after it alike, so this one is owed in full.
    clock = second + 5;
    expect(await budget.sentLate(25)).toBe(true);
    expect(await budget.acquire()).toBeCloseTo(second + spacing + lateSendShiftMs(policy50, 50, 25), 6);
  });

  it('follows reserveSlots: spaced slots, a late wake reserves again, a pause holds', async () => {
    let clock = 10_000;
    const budget = new MemoryRequestBudget(1000 / (100 * SLOT_HEADROOM), 1, () => clock);
    await budget.acquire();
    // The next slot is 100 ms on; the caller wakes 50 ms late: it drops that slot and takes the next free one.
    const late = budget.acquire();
    clock += 150;
    await late;
    expect(budget.stats()).toMatchObject({ granted: 2, lateWakes: 1 });
    await budget.pauseFor(1000);
    const aborted = budget.acquire(AbortSignal.timeout(20));
    await expect(aborted).rejects.toThrow();
    clock += 1000;
    await budget.acquire();
    expect(budget.stats().granted).toBe(3);
  });
});
