import { ACTION_BY_CATEGORY, type Action, type Category } from '../classify/categories.js';
import type { Assessment, CredentialEvent, CredentialSummary } from '../classify/types.js';
import { isLeafError } from './errors.js';
import type { CredentialLookup, LeafUserPage } from './leaf-client.js';
import type { ProviderId } from '../core/providers.js';
import type { LeafUser } from './schemas.js';
import { sleep } from './request-budget.js';
import { toIsoTimestamp } from '../iso-time.js';

/** One audited credential: the `--json` line and the table row. */
export interface AuditRow {
  leafUserId: string;
  category: Category;
  action: Action;
  /** When the current category began, ISO 8601 UTC with milliseconds (null when unknown). */
  since: string | null;
  reason: string;
  /** The grower as Leaf lists the user (null where Leaf has nothing). */
  externalId: string | null;
  name: string | null;
  email: string | null;
}

/** The Leaf calls an audit makes (LeafClient satisfies it). */
export interface AuditLeaf {
  listUserPages(options?: { size?: number; startPage?: number }): AsyncGenerator<LeafUserPage>;
  getCredential(provider: ProviderId, userId: string): Promise<CredentialLookup>;
  getEvents(provider: ProviderId, userId: string): Promise<CredentialEvent[]>;
}

/** The classifier's verdict on a credential (assessCredential). */
export type Assess = (events: readonly CredentialEvent[], credential: CredentialSummary | null) => Assessment;

/** What a finished audit tells. */
export interface AuditSummary {
  checked: number;
  total: number | undefined;
  counts: Record<Category, number>;
  /** Users that could not be checked (Leaf kept failing for them), with a safe reason each. */
  failures: Array<{ leafUserId: string; code: string; message: string }>;
}

/** Consecutive 429s tolerated for one user before the audit gives up on it. */
export const MAX_RATE_LIMITED_RETRIES = 50;

/** Runs `call`, waiting out each 429's Retry-After and trying again (at most MAX_RATE_LIMITED_RETRIES times). */
export async function waitOutRateLimits<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (!isLeafError(error, 'LEAF_RATE_LIMITED') || attempt >= MAX_RATE_LIMITED_RETRIES) throw error;
      // The client already paused the shared budget; waiting here as well keeps this worker idle.
      await sleep(error.retryAfterMs ?? 1000, signal);
    }
  }
}

/**
 * Walks every Leaf user with `concurrency` workers, classifies each credential and reports rows as they
 * finish. Users are pulled page by page (never all in memory). A 429 waits its Retry-After and retries;
 * an auth failure or a failure to list users aborts; any other failure for one user is recorded.
 */
export async function auditCredentials(options: {
  leaf: AuditLeaf;
  provider: ProviderId;
  concurrency: number;
  assess: Assess;
  onRow: (row: AuditRow) => void;
  onProgress?: (done: number, total: number | undefined) => void;
  signal?: AbortSignal;
}): Promise<AuditSummary> {
  const { leaf, provider, assess } = options;
  const counts = Object.fromEntries(Object.keys(ACTION_BY_CATEGORY).map((c) => [c, 0])) as Record<Category, number>;
  const failures: AuditSummary['failures'] = [];
  let total: number | undefined;
  let checked = 0;

  async function* users(): AsyncGenerator<LeafUser> {
    let nextPage = 0;
    for (let attempt = 0; ; attempt += 1) {
      try {
        for await (const page of leaf.listUserPages({ size: 100, startPage: nextPage })) {
          total = page.total;
          nextPage = page.page + 1;
          attempt = 0;
          yield* page.users;
        }
        return;
      } catch (error) {
        // A 429 ends the client's page generator: wait, then resume at the page that was refused.
        if (!isLeafError(error, 'LEAF_RATE_LIMITED') || attempt >= MAX_RATE_LIMITED_RETRIES) throw error;
        await sleep(error.retryAfterMs ?? 1000, options.signal);
      }
    }
  }

  async function check(user: LeafUser): Promise<AuditRow> {
    const found = await waitOutRateLimits(() => leaf.getCredential(provider, user.id), options.signal);
    let events: CredentialEvent[] = [];
    let credential: CredentialSummary | null = null;
    if (found.connected) {
      const { id, status, clientEnvironment } = found.credential;
      credential = { id, status, clientEnvironment };
      try {
        events = await waitOutRateLimits(() => leaf.getEvents(provider, user.id), options.signal);
      } catch (error) {
        // The credential was deleted between the two calls: not connected.
        if (!isLeafError(error, 'LEAF_NOT_FOUND')) throw error;
        credential = null;
      }
    }
    const verdict = assess(events, credential);
    return {
      leafUserId: user.id,
      category: verdict.category,
      action: verdict.action,
      since: toIsoTimestamp(verdict.since),
      reason: verdict.reason,
      externalId: user.externalId || null,
      name: user.name || null,
      email: user.email || null,
    };
  }

  const queue = users();
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped) {
      // Concurrent next() calls on one async generator are queued by the runtime: each user once.
      const next = await queue.next();
      if (next.done === true) return;
      options.signal?.throwIfAborted();
      try {
        const row = await check(next.value);
        counts[row.category] += 1;
        options.onRow(row);
      } catch (error) {
        if (!isLeafError(error) || error.code === 'LEAF_AUTH_FAILED') {
          stopped = true;
          throw error;
        }
        failures.push({ leafUserId: next.value.id, code: error.code, message: error.message });
      }
      checked += 1;
      options.onProgress?.(checked, total);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  } catch (error) {
    stopped = true;
    throw error;
  }
  return { checked, total, counts, failures };
}
