import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import type { Assessment, Classification, ClassifyContext, CredentialEvent, CredentialSummary } from '../classify/types.js';
import type { ClientEnvironment } from '../classify/categories.js';
import { isCredwatchError } from '../errors.js';
import { isLeafError } from '../leaf/errors.js';
import type { ProviderId } from '../core/providers.js';
import type { Logger } from '../logger.js';
import { safeError } from '../logger.js';
import type { Metrics, PollOutcome } from '../metrics/metrics.js';
import type { CredentialStore } from './credential-store.js';
import type { PollJobData } from './schedules.js';
import { inboxSightings } from './inbox-sightings.js';
import { cacheRefusal, eventsContradictCache, type EventsAnswer } from './credential-cache.js';
import type { CredentialFetchReason } from '../core/credential-fetch-reasons.js';
import type { InboxSighting } from './unclassified-inbox.js';

/** The part of Leaf's credential object a poll reads (the client drops the tokens before this point). */
export interface PolledCredential {
  id: string;
  status?: string | undefined;
  clientEnvironment?: ClientEnvironment | undefined;
}

/** The answer of a credential lookup: the credential (tokens dropped), or not connected (Leaf said 404). */
export type CredentialLookup = { connected: true; credential: PolledCredential } | { connected: false };

/** What the poll processor needs from the Leaf client. */
export interface LeafReader {
  getCredential(provider: ProviderId, userId: string): Promise<CredentialLookup>;
  getEvents(provider: ProviderId, userId: string): Promise<CredentialEvent[]>;
}

/** What the poll processor needs from the classifier (pure). */
export interface PollClassifier {
  assessCredential(events: readonly CredentialEvent[], credential: CredentialSummary | null): Assessment;
  /** Category of one event without evidence: used to count new events. */
  decideEvent(event: CredentialEvent, context: ClassifyContext): Pick<Classification, 'category' | 'ruleId'>;
}

/** How a failed poll maps to queue behaviour: the one place that decides it. */
export type PollFailure = { kind: 'rate_limited'; retryAfterMs: number } | { kind: 'retry' } | { kind: 'permanent' };

/** Maps a Leaf or Redis error to the queue behaviour (pure). */
export function classifyPollError(error: unknown): PollFailure {
  if (isLeafError(error, 'LEAF_RATE_LIMITED')) {
    const retryAfterMs = error.retryAfterMs;
    return { kind: 'rate_limited', retryAfterMs: retryAfterMs !== undefined && retryAfterMs > 0 ? retryAfterMs : 1000 };
  }
  // A user Leaf no longer has, or a request Leaf rejects as such, will not get better by retrying.
  if (isCredwatchError(error, 'LEAF_NOT_FOUND') || isCredwatchError(error, 'LEAF_REQUEST_REJECTED')) return { kind: 'permanent' };
  return { kind: 'retry' };
}

/** Most new events classified one by one per poll for the per-category counter; older ones in a first poll of a long log are skipped. */
const MAX_NEW_EVENTS_CLASSIFIED = 500;

/** Dependencies of the poll processor. */
export interface PollProcessorDeps {
  leaf: LeafReader;
  classifier: PollClassifier;
  store: CredentialStore;
  metrics: Metrics;
  logger: Logger;
  queue: Queue;
  /** The unclassified inbox: written only when a new event is unclassified or decided by a fallback rule. */
  inbox?: { record(sightings: readonly InboxSighting[]): Promise<void> };
  /** Longest the cached credential object is trusted (CREDWATCH_CREDENTIAL_MAX_AGE, default 24 h). */
  credentialMaxAgeMs?: number;
  now?: () => Date;
}

const DEFAULT_CREDENTIAL_MAX_AGE_MS = 24 * 3_600_000;

/**
 * Builds the processor of the poll queue: fetch the credential and its events, classify, persist, count.
 * Thin by design: the decisions live in the classifier and the store's script.
 */
export function createPollProcessor(deps: PollProcessorDeps) {
  const now = deps.now ?? (() => new Date());
  return async function processPoll(job: Job<PollJobData>): Promise<{ category: string; transition: boolean }> {
    const provider = job.data.provider as ProviderId;
    const { leafUserId } = job.data;
    const log = deps.logger.child({ leafUserId, provider, jobId: job.id });
    const started = now();
    const stopTimer = deps.metrics.pollDuration.startTimer({ provider });
    let outcome: PollOutcome = 'ok';
    try {
      const seen = await observeCredential(deps, provider, leafUserId, started.getTime());
      if (seen.fetchReason !== null) deps.metrics.credentialFetches.inc({ reason: seen.fetchReason });
      const { found, events } = seen;
      const credential: CredentialSummary | null = found.connected
        ? { id: found.credential.id, status: found.credential.status, clientEnvironment: found.credential.clientEnvironment }
        : null;
      if (!found.connected) outcome = 'not_connected';
      const assessment = deps.classifier.assessCredential(events, credential);
      const newest = events[events.length - 1];
      const result = await deps.store.applyPoll(
        {
          provider,
          leafUserId,
          observedAtMs: started.getTime(),
          credentialId: found.connected ? found.credential.id : null,
          clientEnvironment: found.connected ? (found.credential.clientEnvironment ?? null) : null,
          category: assessment.category,
          action: assessment.action,
          since: assessment.since,
          ruleId: assessment.ruleId,
          reason: assessment.reason,
          // A healthy credential's evidence is its event id and status: the excerpt of a 2xx body says nothing
          // an operator needs, and leaving it out keeps most credentials' state in Redis's compact encoding.
          evidence: assessment.category === 'healthy' ? { ...assessment.evidence, excerpt: '' } : assessment.evidence,
          cursorMs: newest?.createdAtMs ?? null,
          lastEventId: newest?.id ?? null,
          leafRequests: seen.requests,
          credentialStatus: found.connected ? (found.credential.status ?? null) : null,
          credentialFetchedAtMs: seen.fetchReason === null ? null : started.getTime(),
        },
        now(),
      );
      const decided = countNewEvents(deps, provider, events, result.previousCursorMs, credential, now().getTime());
      const sightings = inboxSightings(decided, { provider, leafUserId, atMs: started.getTime() });
      if (sightings.length > 0 && deps.inbox) {
        // The inbox is a diagnostic: losing one write must not fail (and re-run) the poll.
        await deps.inbox
          .record(sightings)
          .catch((error: unknown) => log.warn({ err: safeError(error) }, 'could not record unclassified events'));
      }
      if (result.transition) {
        const t = result.transition;
        deps.metrics.transitions.inc({ provider, from: t.from ?? 'none', to: t.to });
        log.info({ from: t.from, to: t.to, transitionId: t.id, ruleId: t.ruleId }, 'credential changed category');
      }
      return { category: assessment.category, transition: result.transition !== null };
    } catch (error) {
      const failure = classifyPollError(error);
      if (failure.kind === 'rate_limited') {
        outcome = 'rate_limited';
        log.warn({ retryAfterMs: failure.retryAfterMs }, 'Leaf rate limited us; pausing the poll queue');
        await deps.queue.rateLimit(failure.retryAfterMs);
        throw Worker.RateLimitError();
      }
      outcome = 'leaf_error';
      const failures = await deps.store.recordPollFailure(provider, leafUserId).catch(() => 0);
      log.warn({ err: safeError(error), attempt: job.attemptsMade + 1, consecutiveFailures: failures }, 'poll failed');
      if (failure.kind === 'permanent') throw new UnrecoverableError(safeError(error)['message'] as string);
      throw error;
    } finally {
      deps.metrics.polls.inc({ provider, outcome });
      stopTimer();
    }
  };
}

/** What a poll saw of one credential, and what it cost. */
interface Observation {
  found: CredentialLookup;
  events: CredentialEvent[];
  /** Leaf requests made (the retries inside the client aside). */
  requests: number;
  /** Why the credential object was fetched; null when the cached copy was trusted. */
  fetchReason: CredentialFetchReason | null;
}

/**
 * Fetches what the classifier needs. In steady state one request: the events, with the credential object
 * from the cache. The object is fetched (first, or after the events) whenever the cache is missing, old,
 * carries a status that weighs on the verdict, or the events show something it cannot explain, so the
 * classifier always gets the inputs a poll without cache would give it.
 */
async function observeCredential(deps: PollProcessorDeps, provider: ProviderId, leafUserId: string, nowMs: number): Promise<Observation> {
  const context = await deps.store.pollContext(provider, leafUserId);
  let fetchReason = cacheRefusal(context, nowMs, deps.credentialMaxAgeMs ?? DEFAULT_CREDENTIAL_MAX_AGE_MS);
  let requests = 0;
  let answer: EventsAnswer | undefined;
  if (fetchReason === null && context.cached !== undefined) {
    const cached = context.cached.credential;
    requests += 1;
    answer = await getEventsAnswer(deps.leaf, provider, leafUserId);
    fetchReason = eventsContradictCache(cached, answer, context, nowMs);
    if (fetchReason === null) {
      const found: CredentialLookup =
        cached === null
          ? { connected: false }
          : {
              connected: true,
              credential: { id: cached.id, status: cached.status ?? undefined, clientEnvironment: cached.clientEnvironment ?? undefined },
            };
      return { found, events: answer.found ? [...answer.events] : [], requests, fetchReason };
    }
  }
  requests += 1;
  const found = await deps.leaf.getCredential(provider, leafUserId);
  if (!found.connected) return { found, events: [], requests, fetchReason };
  // Events fetched a moment ago serve; a 404 then a credential now is a race, so the log is asked again.
  if (answer?.found) return { found, events: [...answer.events], requests, fetchReason };
  requests += 1;
  return { found, events: await deps.leaf.getEvents(provider, leafUserId), requests, fetchReason };
}

async function getEventsAnswer(leaf: LeafReader, provider: ProviderId, leafUserId: string): Promise<EventsAnswer> {
  try {
    return { found: true, events: await leaf.getEvents(provider, leafUserId) };
  } catch (error) {
    if (isLeafError(error, 'LEAF_NOT_FOUND')) return { found: false };
    throw error;
  }
}

function countNewEvents(
  deps: PollProcessorDeps,
  provider: ProviderId,
  events: readonly CredentialEvent[],
  previousCursorMs: number | null,
  credential: CredentialSummary | null,
  nowMs: number,
): Array<{ event: CredentialEvent; category: string; ruleId: string }> {
  if (events.length === 0) return [];
  const fresh = previousCursorMs === null ? events : events.filter((e) => e.createdAtMs !== null && e.createdAtMs > previousCursorMs);
  const context: ClassifyContext = { clientEnvironment: credential?.clientEnvironment };
  const classified = fresh.slice(-MAX_NEW_EVENTS_CLASSIFIED);
  const decided: Array<{ event: CredentialEvent; category: string; ruleId: string }> = [];
  for (const event of classified) {
    const c = deps.classifier.decideEvent(event, context);
    decided.push({ event, category: c.category, ruleId: c.ruleId });
    deps.metrics.eventsClassified.inc({ provider, category: c.category });
    // Detection latency only for events that arrived between two polls: the first poll sees 30 days of log.
    if (previousCursorMs !== null && event.createdAtMs !== null) {
      deps.metrics.detectionLatency.observe({ provider }, Math.max(0, (nowMs - event.createdAtMs) / 1000));
    }
  }
  return decided;
}
