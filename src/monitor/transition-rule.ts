import type { Category } from '../classify/categories.js';
import { UNINDEXED_CATEGORY } from './category-index.js';

/** What apply-poll.lua reads of a credential before it writes a poll: absent fields are null. */
export interface StoredCategory {
  category: Category | null;
  /** The stored `since` (ISO), kept while the category does not change. */
  since: string | null;
  /** When the last poll applied was observed (ms; 0 before the first). */
  lastPolledMs: number;
  /** The credential was marked removed (its user left Leaf's listing). */
  removed: boolean;
}

/** What a poll observed, as apply-poll.lua is given it. */
export interface ObservedCategory {
  category: Category;
  /** When the category began, normalised to ISO (now when the events did not say). */
  since: string;
  observedAtMs: number;
}

/** What apply-poll.lua does with one observation. */
export interface TransitionStep {
  /** stale: a newer poll already wrote the credential, nothing is written; same: state refreshed, no transition. */
  status: 'stale' | 'same' | 'transition';
  /** The `since` stored after the poll (null when stale: nothing is written). */
  since: string | null;
  /** The category the transition leaves (null on a first sighting, or when there is no transition). */
  from: Category | null;
  /** A history entry and an outbox entry are written (exactly when status is 'transition'). */
  recordsTransition: boolean;
  /** The credential is (re)added to its category index, scored by `since` (never for healthy: it has none). */
  indexesCategory: boolean;
}

/**
 * The transition rule of apply-poll.lua, in TypeScript (pure; the table test runs each row through both).
 * An observation older than the last one applied is stale. The category's `since` is kept while the
 * category stays and taken from the observation when it changes. A first sighting in `healthy` is no
 * transition (nothing to tell anyone); every other change of category is one, recorded once.
 */
export function transitionStep(stored: StoredCategory | null, observed: ObservedCategory): TransitionStep {
  const prev = stored?.category ?? null;
  if (observed.observedAtMs < (stored?.lastPolledMs ?? 0))
    return { status: 'stale', since: null, from: null, recordsTransition: false, indexesCategory: false };
  const stays = prev === observed.category;
  const since = stays ? (stored?.since ?? observed.since) : observed.since;
  const indexesCategory = (!stays || (stored?.removed ?? false)) && observed.category !== UNINDEXED_CATEGORY;
  if (stays || (prev === null && observed.category === 'healthy'))
    return { status: 'same', since, from: null, recordsTransition: false, indexesCategory };
  return { status: 'transition', since, from: prev, recordsTransition: true, indexesCategory };
}
