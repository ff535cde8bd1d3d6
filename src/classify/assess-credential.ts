import { ACTION_BY_CATEGORY, type Category } from './categories.js';
import { decideEvent, evidenceFor, type Decision } from './classify-event.js';
import { environmentOf } from './client-environment.js';
import { normalizeEvents } from './normalize-event.js';
import { BUILTIN_RULES, REAUTH_CATEGORIES, type Rule } from './rules.js';
import type { Assessment, ClassifyContext, CredentialEvent, CredentialSummary, RawCredentialEvent } from './types.js';

/** Rule ids of verdicts that no single event decided. */
export const ASSESSMENT_RULE_IDS = {
  notConnected: 'credential.none',
  noEvents: 'assess.no-events',
  unauthenticated: 'credential-status.unauthenticated',
  missingPermission: 'credential-status.missing-permission',
  temporarilyUnavailable: 'credential-status.temporarily-unavailable',
} as const;

// Leaf's credential `status` as a second witness: which status overrides which event verdicts.
const STATUS_WITNESS: Readonly<Record<string, { category: Category; ruleId: string; reason: string; overrides: ReadonlySet<Category> }>> = {
  UNAUTHENTICATED: {
    category: 'cognito_token_expired',
    ruleId: ASSESSMENT_RULE_IDS.unauthenticated,
    reason: 'Leaf reports the credential as UNAUTHENTICATED and no event says more',
    overrides: new Set<Category>(['healthy', 'provider_unavailable', 'unclassified']),
  },
  MISSING_PERMISSION: {
    category: 'missing_permission',
    ruleId: ASSESSMENT_RULE_IDS.missingPermission,
    reason: 'Leaf reports the credential as MISSING_PERMISSION and no event says more',
    overrides: new Set<Category>(['healthy', 'provider_unavailable', 'unclassified']),
  },
  TEMPORARILY_UNAVAILABLE: {
    category: 'provider_unavailable',
    ruleId: ASSESSMENT_RULE_IDS.temporarilyUnavailable,
    reason: 'Leaf reports the credential as TEMPORARILY_UNAVAILABLE and no event says more',
    overrides: new Set<Category>(['healthy', 'unclassified']),
  },
};

/**
 * Whether Leaf's credential `status` weighs on the verdict (UNAUTHENTICATED, MISSING_PERMISSION,
 * TEMPORARILY_UNAVAILABLE): a poll may trust a cached credential object only when it does not.
 */
export function isWitnessStatus(status: string | null | undefined): boolean {
  return typeof status === 'string' && Object.hasOwn(STATUS_WITNESS, status.trim().toUpperCase());
}

function verdictWithoutEvent(category: Category, ruleId: string, reason: string, excerpt: string): Assessment {
  return {
    category,
    action: ACTION_BY_CATEGORY[category],
    ruleId,
    reason,
    evidence: { eventId: null, statusCode: null, excerpt },
    decidingEvent: null,
    since: '',
  };
}

/** Memoises decisions by index, and by identical exchange: long runs repeat the same body. */
function decider(events: readonly CredentialEvent[], context: ClassifyContext, rules: readonly Rule[]) {
  const byIndex = new Map<number, Decision>();
  const byContent = new Map<string, Decision>();
  return (index: number): Decision => {
    const known = byIndex.get(index);
    if (known !== undefined) return known;
    const event = events[index] as CredentialEvent;
    const key = `${String(event.statusCode)}\u0000${event.headers}\u0000${event.body}`;
    let decision = byContent.get(key);
    if (decision === undefined) {
      const { category, ruleId, reason } = decideEvent(event, context, rules);
      decision = { category, ruleId, reason };
      if (byContent.size < 10_000) byContent.set(key, decision);
    }
    byIndex.set(index, decision);
    return decision;
  };
}

/** Walks from the newest event back and returns the deciding event's index and the start of its run. */
function decide(count: number, decisionAt: (index: number) => Decision): { deciding: number; since: number } {
  const newest = count - 1;
  let deciding = newest;
  if (decisionAt(newest).category === 'provider_unavailable') {
    // Transient failures after a definitive one do not clear it.
    let j = newest;
    while (j >= 0 && decisionAt(j).category === 'provider_unavailable') j -= 1;
    if (j >= 0 && REAUTH_CATEGORIES.has(decisionAt(j).category)) deciding = j;
  }
  const category = decisionAt(deciding).category;
  const definitive = REAUTH_CATEGORIES.has(category);
  let since = deciding;
  for (let k = deciding - 1; k >= 0; k -= 1) {
    const c = decisionAt(k).category;
    if (c === category) since = k;
    else if (!(definitive && c === 'provider_unavailable')) break;
  }
  return { deciding, since };
}

/**
 * The credential's category from its events and Leaf's credential object (credential-failures.md,
 * "From events to a credential's category"). Walks from the newest event back and stops as soon as the
 * verdict and the start of its run are known. Pure and total: never throws.
 */
export function assessCredential(
  events: readonly (RawCredentialEvent | CredentialEvent)[],
  credential: CredentialSummary | null,
  options: { rules?: readonly Rule[] } = {},
): Assessment {
  if (credential === null || typeof credential !== 'object') {
    return verdictWithoutEvent(
      'not_connected',
      ASSESSMENT_RULE_IDS.notConnected,
      'the Leaf user has no Panorama credential',
      'no credential',
    );
  }
  const rules = options.rules ?? BUILTIN_RULES;
  const context: ClassifyContext = { clientEnvironment: environmentOf(credential.clientEnvironment) };
  const status = typeof credential.status === 'string' ? credential.status.trim().toUpperCase() : '';
  const witness = Object.hasOwn(STATUS_WITNESS, status) ? STATUS_WITNESS[status] : undefined;
  const sorted = normalizeEvents(Array.isArray(events) ? events : []);

  if (sorted.length === 0) {
    if (witness !== undefined) return verdictWithoutEvent(witness.category, witness.ruleId, witness.reason, `credential status ${status}`);
    return verdictWithoutEvent('healthy', ASSESSMENT_RULE_IDS.noEvents, 'no events and no failing credential status', 'no events');
  }

  const decisionAt = decider(sorted, context, rules);
  const { deciding, since } = decide(sorted.length, decisionAt);
  const decision = decisionAt(deciding);
  if (witness !== undefined && witness.overrides.has(decision.category)) {
    return verdictWithoutEvent(witness.category, witness.ruleId, witness.reason, `credential status ${status}`);
  }
  const event = sorted[deciding] as CredentialEvent;
  // Re-parse only the deciding event, for its evidence.
  const { parsed } = decideEvent(event, context, rules);
  return {
    ...decision,
    action: ACTION_BY_CATEGORY[decision.category],
    evidence: evidenceFor(event, parsed),
    decidingEvent: event,
    since: (sorted[since] as CredentialEvent).createdDate,
  };
}
