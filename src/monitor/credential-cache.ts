import { isWitnessStatus } from '../classify/assess-credential.js';
import type { CredentialEvent } from '../classify/types.js';
import type { CredentialFetchReason } from '../core/credential-fetch-reasons.js';
import type { PollContext } from './credential-store.js';

/** Leaf keeps 30 days of events; an event older than this may have left the log on its own. */
const LOG_RETENTION_MS = 29 * 86_400_000;

/**
 * Before a poll asks Leaf: may it start from the events and trust the cached credential object? Returns
 * why not, or null when it may (pure). The cached object never decides a verdict on its own: a status
 * that weighs on the verdict is always fetched fresh, and the events are checked against the cache.
 */
export function cacheRefusal(context: PollContext, nowMs: number, maxAgeMs: number): CredentialFetchReason | null {
  const cached = context.cached;
  if (cached === undefined) return 'not_cached';
  if (nowMs - cached.fetchedAtMs >= maxAgeMs || cached.fetchedAtMs > nowMs + 60_000) return 'too_old';
  if (cached.credential !== null && isWitnessStatus(cached.credential.status)) return 'failing_status';
  return null;
}

/** What the events request answered: the log, or 404 (Leaf has no credential for the user). */
export type EventsAnswer = { found: true; events: readonly CredentialEvent[] } | { found: false };

/**
 * After the events arrived: do they show something the cached credential object cannot explain? Returns
 * why (the credential is then fetched, and the classifier sees exactly what a poll without cache sees),
 * or null (pure).
 *
 * - 404 while a credential is cached: it may have been deleted.
 * - events while "not connected" is cached: a credential was attached.
 * - a new event (after the cursor) that is not a 2xx, or one without a date: Leaf's status may have moved.
 * - the newest event seen last time is gone from the log while still within retention: the credential was
 *   deleted and attached again (the log disappears with the credential).
 */
export function eventsContradictCache(
  cachedCredential: { id: string } | null,
  answer: EventsAnswer,
  context: Pick<PollContext, 'cursorMs' | 'lastEventId'>,
  nowMs: number,
): CredentialFetchReason | null {
  if (!answer.found) return cachedCredential === null ? null : 'events_not_found';
  if (cachedCredential === null) return 'events_appeared';
  const { cursorMs, lastEventId } = context;
  let sawLast = lastEventId === null;
  for (const event of answer.events) {
    if (event.id === lastEventId) sawLast = true;
    const isNew = cursorMs === null || event.createdAtMs === null || event.createdAtMs > cursorMs;
    if (isNew && !(event.statusCode !== null && event.statusCode >= 200 && event.statusCode < 300)) return 'new_failure_event';
  }
  if (!sawLast && cursorMs !== null && nowMs - cursorMs < LOG_RETENTION_MS) return 'log_reset';
  return null;
}
