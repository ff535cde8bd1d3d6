import { needsAction, type Category } from '../classify/categories.js';
import type { Transition } from '../monitor/transition.js';
import type { WebhookEventType } from '../core/webhook-event-types.js';

/** The last notification sent about one credential: what the apps currently believe. */
export interface LastNotified {
  type: WebhookEventType;
  /** The category the notification was about (the failing category, also for `credential.recovered`). */
  category: Category;
  /** Unix milliseconds it was decided. */
  atMs: number;
}

/** Options of the notification policy. */
export interface NotificationPolicyOptions {
  cooldownMs: number;
  notifyUnclassified: boolean;
  /** Unix milliseconds of the decision (passed in: the policy reads no clock). */
  now: number;
}

/** A notification to send: its type and the failing category it is about. */
export interface NotificationDecision {
  type: WebhookEventType;
  category: Category;
}

/**
 * Decides which webhook (if any) a transition sends, from the last notification sent about the same
 * credential. Rules (docs/webhooks.md, "When a webhook is sent"):
 * - entering a category that needs action sends `credential.action_required`, unless the last
 *   notification already told the apps about this very category less than `cooldownMs` ago (for
 *   `not_connected`: at any time, it is sent once);
 * - reaching `healthy` sends `credential.recovered` when the last notification was an
 *   `action_required` (or, with no record, when the category left needs action);
 * - `provider_unavailable`, `unclassified` (unless `notifyUnclassified`) and first sightings of a
 *   healthy credential send nothing.
 */
export function decideNotification(
  transition: Pick<Transition, 'from' | 'to'>,
  last: LastNotified | null,
  options: NotificationPolicyOptions,
): NotificationDecision | null {
  const { from, to } = transition;
  if (to === 'healthy') {
    if (last !== null) return last.type === 'credential.action_required' ? { type: 'credential.recovered', category: last.category } : null;
    return from !== null && needsAction(from, options.notifyUnclassified) ? { type: 'credential.recovered', category: from } : null;
  }
  if (!needsAction(to, options.notifyUnclassified)) return null;
  if (last !== null && last.type === 'credential.action_required' && last.category === to) {
    if (to === 'not_connected') return null;
    if (options.now - last.atMs < options.cooldownMs) return null;
  }
  return { type: 'credential.action_required', category: to };
}
