import type { Action, Category, ClientEnvironment } from '../classify/categories.js';
import type { Evidence } from '../classify/types.js';
import type { ProviderId } from '../core/providers.js';
import type { GrowerIdentity } from './grower-identity.js';

/**
 * A change of a credential's category, written atomically with the new state and appended to the
 * outbox stream (`{prefix}:outbox`, field `t` = JSON of this object) for the webhook dispatcher.
 */
export interface Transition {
  /** Unique and stable: the webhook idempotency key is derived from it. */
  id: string;
  /** ISO time the transition was recorded. */
  at: string;
  provider: ProviderId;
  leafUserId: string;
  credentialId: string | null;
  clientEnvironment: ClientEnvironment | null;
  /** null when the credential is seen for the first time. */
  from: Category | null;
  to: Category;
  action: Action;
  /** ISO time the new category began (from the provider's events when known). */
  since: string;
  ruleId: string;
  reason: string;
  evidence: Evidence;
  /** The grower as Leaf listed the user when the transition was recorded (absent when unknown). */
  grower?: GrowerIdentity;
}

/** Redis stream holding transitions not yet handed to the webhook queue. */
export const OUTBOX_STREAM = 'outbox';
/** Consumer group of the webhook dispatcher on the outbox stream. */
export const OUTBOX_GROUP = 'webhooks';
