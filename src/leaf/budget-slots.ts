import { CredwatchError } from '../errors.js';

/**
 * Slots are spaced at `1000 / (rps × SLOT_HEADROOM)` ms. Leaf (and the simulator) count requests in a
 * strict sliding 1 s window, so `rps + 1` arrivals less than 1 s apart draw a 429. With slots exactly
 * `1000/rps` apart, any jitter between a slot and the request's arrival (a timer firing 1 ms late, the
 * socket write, the other side's event loop) could squeeze `rps + 1` arrivals into one window. With 1 %
 * headroom `rps + 1` consecutive slots span `1000/0.99 ≈ 1010.1` ms, whatever the rate: arrivals may
 * jitter by up to ~10 ms against each other before the window overflows, for 1 % of the rate. (1.5 %,
 * ~15 ms, was measured too and not kept: the rare 429s come from delays of 11 to 25 ms, which it does not
 * cover either, and it costs half a point of utilisation; see docs/performance.md.)
 */
export const SLOT_HEADROOM = 0.99;

/**
 * How far ahead of Redis's clock a caller may reserve its slot. Beyond it the caller is told to come
 * back later. It bounds the slots that a `pauseFor` in another process cannot recall (they were reserved
 * before the pause and are sent unless their holder learns of the pause first), while leaving room for
 * every waiting caller of a few processes to hold a slot, so the budget never idles while callers wait.
 * Under 1 s, so that a late send can still move the slot `rps` places after it (lateSendShiftMs).
 */
export const RESERVE_HORIZON_MS = 900;

/**
 * The latest a caller may wake after its slot and still send (lateWakeToleranceMs lowers it at high rates).
 * Up to it, it sends, and its lateness at the socket moves the slots not yet reserved (lateSendShiftMs).
 * The shift protects the request `rps` slots later only while that one is still unreserved, that is for
 * lateness up to `rps × interval − RESERVE_HORIZON_MS` ≈ 110 ms; 25 ms stays well inside it and still lets
 * the rare long stall (a VM pause) drop its slot. It was 4 ms at every rate, and late wakes then cost
 * ≈ 1.3 % of the rate at 50 rps (docs/performance.md, runs T and V).
 */
export const LATE_WAKE_TOLERANCE_MS = 25;

/**
 * After a second with no slot taken, slots of the next COLD_START_MS are spaced COLD_START_SPACING times
 * wider. The first requests after a quiet spell are the slow ones (new connections, TLS, cold code): sent
 * on their slots they arrive late, and the on-time requests a second later would then make `rps + 1`
 * arrivals in one window. The widening gives them ~5 % of a second of slack, once per cold start.
 */
export const COLD_START_MS = 1000;
/** See COLD_START_MS. */
export const COLD_START_SPACING = 1.05;

/**
 * How much later the slots not yet reserved must go after a request reached its socket `latenessMs` after
 * its slot (0: none). The request `rps` slots later then lies `rps × interval − 1000 − lateness` ms past
 * the one-second window of the late one; below LATE_SEND_MARGIN_MS it could make `rps + 1` arrivals in
 * one window, so every later slot moves by the shortfall. The horizon (under 1 s) keeps that request
 * unreserved when the shift is made, for lateness up to `rps × interval − RESERVE_HORIZON_MS` ms.
 */
export function lateSendShiftMs(policy: SlotPolicy, rps: number, latenessMs: number): number {
  const slack = rps * policy.intervalMs - 1000;
  return Math.max(0, latenessMs + LATE_SEND_MARGIN_MS - slack);
}

/**
 * The least gap kept between a late request's window and the request `rps` slots after it (see
 * lateSendShiftMs): what the other side's own jitter (its event loop, the network) may add. 2 ms drew
 * 429s once late holders sent (run U); 6 ms did not (run V, docs/performance.md).
 */
export const LATE_SEND_MARGIN_MS = 6;

/**
 * Lateness at the socket that never moves a slot, at any rate: the spacing's slack (`1000 / SLOT_HEADROOM
 * − 1000` ≈ 10.1 ms, the same for every rate) less the margin. Callers need not report sends this late or less.
 */
export const LATE_SEND_FREE_MS = 1000 / SLOT_HEADROOM - 1000 - LATE_SEND_MARGIN_MS;

/**
 * How late a holder of this policy's slots may wake and still send: while the shift its send can cause
 * (`lateness − LATE_SEND_FREE_MS`) costs no more than the slot it would otherwise drop, and never beyond
 * LATE_WAKE_TOLERANCE_MS. At 50 rps that is ≈ 24 ms; at 10 rps 25 ms; at 10 000 rps ≈ 4 ms, where a
 * 20 ms shift would cost 200 slots to save one.
 */
export function lateWakeToleranceMs(policy: SlotPolicy): number {
  return Math.min(LATE_WAKE_TOLERANCE_MS, LATE_SEND_FREE_MS + policy.intervalMs);
}

/** How long ShiftCoalescer remembers a shift: beyond the lateness any late request may be reported with. */
const COALESCE_MEMORY_MS = 2000;

/**
 * Keeps the shifts one budget instance made, so that a late request owes only what they have not done
 * already. A late request at slot `s` needs the request `rps` slots after it to lie `shift` ms further on.
 * A shift made while the next free slot was past `s` moved that request (still unreserved) and not `s`
 * (already reserved): it counts for `s`. A shift made earlier moved both, so it does not. Without this,
 * shifts added up: at 10 000 rps, where many sends are a few ms late, the budget fell behind its rate
 * (the bench's quick scale sweep took 16.4 s instead of 9.6 s). A first version counted every shift of
 * the last second, including those made before `s` was reserved, which could leave a late request unshifted.
 */
export class ShiftCoalescer {
  /** Shifts made: `from` is the next free slot when each was made (the first slot it moved), ms. */
  private readonly made: Array<{ from: number; ms: number }> = [];

  /** The part of `shiftMs` that shifts made after slot `slot` was reserved do not cover (0: covered). */
  owed(slot: number, shiftMs: number): number {
    let covered = 0;
    for (const shift of this.made) if (shift.from > slot) covered += shift.ms;
    return Math.max(0, shiftMs - covered);
  }

  /** Records a shift of `ms` that moved every slot from `from` on. Shifts from before the last 2 s are forgotten. */
  record(from: number, ms: number): void {
    this.made.push({ from, ms });
    while ((this.made[0]?.from ?? from) < from - COALESCE_MEMORY_MS) this.made.shift();
  }
}

/** Moves the slots not yet reserved `shiftMs` later (lateSendShiftMs); the reserved ones and the pause stay. */
export function shiftSlots(state: SlotState, nowMs: number, shiftMs: number): SlotState {
  if (shiftMs <= 0) return state;
  return { ...state, tat: Math.max(state.tat, nowMs) + shiftMs };
}

/** Counters of one budget instance: slots sent, slots dropped because their holder woke late or a pause came. */
export interface BudgetStats {
  granted: number;
  lateWakes: number;
  pausedDrops: number;
  /** Reservation round trips to Redis (0 for the memory budget). */
  roundTrips: number;
  /** Requests that reached their socket late enough to move the later slots (lateSendShiftMs > 0). */
  lateSends: number;
}

/** The shape of a budget: rate, burst, slot spacing and horizon, all in ms. */
export interface SlotPolicy {
  intervalMs: number;
  burst: number;
  horizonMs: number;
}

/** The stored state of a budget, times in ms: the next free slot, the pause end, the end of the cold-start spacing. */
export interface SlotState {
  tat: number;
  pausedUntil: number;
  rampUntil: number;
}

/** What one reservation answers: the slots granted (times in ms), and when to ask again for the rest. */
export interface ReserveResult {
  slots: number[];
  /** 0 when every requested slot was granted; else ms from `nowMs` after which a slot is within the horizon. */
  retryInMs: number;
  state: SlotState;
}

/** Throws INPUT_INVALID for a rate or burst that cannot make a budget. */
export function checkRps(rps: number, burst: number): void {
  if (!Number.isFinite(rps) || rps <= 0) throw new CredwatchError('INPUT_INVALID', `request budget: rps must be above 0, got ${rps}`);
  if (!Number.isInteger(burst) || burst < 1)
    throw new CredwatchError('INPUT_INVALID', `request budget: burst must be a whole number of at least 1, got ${burst}`);
}

/** The slot policy for `rps` (spacing with SLOT_HEADROOM). */
export function slotPolicy(rps: number, burst = 1, horizonMs = RESERVE_HORIZON_MS): SlotPolicy {
  checkRps(rps, burst);
  return { intervalMs: 1000 / (rps * SLOT_HEADROOM), burst, horizonMs };
}

/**
 * Reserves up to `count` future slots (the same arithmetic as the Redis script): each slot is the next
 * free one, even if it lies in the future, as long as it is at most `horizonMs` ahead of `nowMs`. A slot
 * nobody asked for in time is not kept: an idle budget restarts at `nowMs` (plus the burst allowance).
 */
export function reserveSlots(state: SlotState, nowMs: number, policy: SlotPolicy, count: number): ReserveResult {
  const { intervalMs, burst, horizonMs } = policy;
  const rampUntil = state.tat < nowMs - COLD_START_MS ? nowMs + COLD_START_MS : state.rampUntil;
  let tat = Math.max(state.tat, nowMs);
  const slots: number[] = [];
  let retryInMs = 0;
  for (let i = 0; i < count; i += 1) {
    const slot = Math.max(nowMs, tat - (burst - 1) * intervalMs);
    if (slot - nowMs > horizonMs) {
      retryInMs = slot - nowMs - horizonMs;
      break;
    }
    slots.push(slot);
    tat += slot < rampUntil ? intervalMs * COLD_START_SPACING : intervalMs;
  }
  if (slots.length === 0) return { slots, retryInMs, state };
  return { slots, retryInMs, state: { ...state, tat, rampUntil } };
}

/** Pauses a budget until `nowMs + pauseMs`: no slot before then is reserved; holders of earlier slots drop them. */
export function pauseSlots(state: SlotState, nowMs: number, policy: SlotPolicy, pauseMs: number): SlotState {
  const until = nowMs + Math.max(0, pauseMs);
  return {
    tat: Math.max(state.tat, until + (policy.burst - 1) * policy.intervalMs),
    pausedUntil: Math.max(state.pausedUntil, until),
    rampUntil: state.rampUntil,
  };
}

/** What a caller does when it wakes for its slot at `nowMs`: send, or drop the slot and reserve again (toleranceMs: lateWakeToleranceMs). */
export function onWake(slot: number, nowMs: number, pausedUntil: number, toleranceMs: number): 'send' | 'late' | 'paused' {
  if (slot < pausedUntil) return 'paused';
  if (nowMs - slot > toleranceMs) return 'late';
  return 'send';
}
