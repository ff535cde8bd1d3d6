import { argvOf } from '../core/lua-script.js';
import type { Action, Category, ClientEnvironment } from '../classify/categories.js';
import type { Evidence } from '../classify/types.js';
import type { ProviderId } from '../core/providers.js';
import { listpackChunks } from './long-fields.js';
import { nextDueMs, scheduleClassOf, type ScheduleIntervals } from './poll-schedule.js';
import type { Transition } from './transition.js';

/** What one poll observed, handed to applyPoll. */
export interface PollObservation {
  provider: ProviderId;
  leafUserId: string;
  /** When the poll started: an older observation never overwrites a newer one. */
  observedAtMs: number;
  credentialId: string | null;
  clientEnvironment: ClientEnvironment | null;
  category: Category;
  action: Action;
  /** When the category began according to the events ('' when unknown: now is used). */
  since: string;
  ruleId: string;
  reason: string;
  evidence: Evidence;
  cursorMs: number | null;
  lastEventId: string | null;
  /** Requests to Leaf this poll made (the capacity report's requests per poll; default 0). */
  leafRequests?: number;
  /** Leaf's credential status as fetched, or as cached (default none). */
  credentialStatus?: string | null;
  /** When this poll fetched the credential object; null or absent when it used the cached copy. */
  credentialFetchedAtMs?: number | null;
}

/**
 * The arguments of scripts/apply-poll.lua, in ARGV order; the script reads them by these names (`ARG.since`),
 * so a position cannot be misnumbered on either side.
 */
export const APPLY_POLL_ARGS = [
  'prefix',
  'provider',
  'leafUserId',
  'observedAtMs',
  'category',
  'action',
  /** When the category began (ISO); the stored one is kept when the category did not change. */
  'since',
  'credentialId',
  'clientEnvironment',
  'cursorMs',
  'lastEventId',
  'ruleId',
  /** The reason in chunks of at most 64 bytes (JSON array; long-fields.ts). */
  'reasonChunks',
  'evidenceEventId',
  'historyLimit',
  /** The transition without id, from and since (JSON): the script fills them in. */
  'transitionTemplate',
  /** `since` in ms: the category index's score. */
  'sinceMs',
  'evidenceStatus',
  /** The evidence excerpt in chunks of at most 64 bytes (JSON array; long-fields.ts). */
  'excerptChunks',
  'scheduleClass',
  'nextDueMs',
  'leafRequests',
  'credentialStatus',
  /** '' when the poll used the cached credential object. */
  'credentialFetchedAtMs',
] as const;

/** One named argument of apply-poll.lua. */
export type ApplyPollArg = (typeof APPLY_POLL_ARGS)[number];

/** The ARGV of one poll's apply-poll.lua call (pure). */
export function applyPollArgv(
  o: PollObservation,
  now: Date,
  options: { prefix: string; historyLimit: number; intervals: ScheduleIntervals },
): string[] {
  const template: Omit<Transition, 'id' | 'from'> = {
    at: now.toISOString(),
    provider: o.provider,
    leafUserId: o.leafUserId,
    credentialId: o.credentialId,
    clientEnvironment: o.clientEnvironment,
    to: o.category,
    action: o.action,
    since: '',
    ruleId: o.ruleId,
    reason: o.reason,
    evidence: o.evidence,
  };
  // One timestamp format wherever credwatch writes one: Leaf's raw createdDate (0, 3 or 6 fractional
  // digits) becomes ISO 8601 UTC with milliseconds; the raw value stays only in the evidence.
  const parsedSince = o.since === '' ? Number.NaN : Date.parse(o.since);
  const since = Number.isFinite(parsedSince) ? new Date(parsedSince).toISOString() : now.toISOString();
  // The category index is scored by `since`, so "in this category for longer than X" is one ZCOUNT.
  const sinceMs = Number.isFinite(parsedSince) ? parsedSince : now.getTime();
  return argvOf(APPLY_POLL_ARGS, {
    prefix: options.prefix,
    provider: o.provider,
    leafUserId: o.leafUserId,
    observedAtMs: String(o.observedAtMs),
    category: o.category,
    action: o.action,
    since,
    credentialId: o.credentialId ?? '',
    clientEnvironment: o.clientEnvironment ?? '',
    cursorMs: o.cursorMs === null ? '' : String(o.cursorMs),
    lastEventId: o.lastEventId ?? '',
    ruleId: o.ruleId,
    reasonChunks: JSON.stringify(listpackChunks(o.reason)),
    evidenceEventId: o.evidence.eventId ?? '',
    historyLimit: String(options.historyLimit),
    transitionTemplate: JSON.stringify(template),
    sinceMs: String(sinceMs),
    evidenceStatus: o.evidence.statusCode === null ? '' : String(o.evidence.statusCode),
    excerptChunks: JSON.stringify(listpackChunks(o.evidence.excerpt)),
    scheduleClass: scheduleClassOf(o.category),
    nextDueMs: String(nextDueMs(o.category, o.observedAtMs, sinceMs, options.intervals)),
    leafRequests: String(o.leafRequests ?? 0),
    credentialStatus: o.credentialStatus ?? '',
    credentialFetchedAtMs: o.credentialFetchedAtMs === null || o.credentialFetchedAtMs === undefined ? '' : String(o.credentialFetchedAtMs),
  });
}
