import { eventSignature, isFallbackRule } from '../classify/event-signature.js';
import type { CredentialEvent } from '../classify/types.js';
import { excerpt } from '../redact.js';
import type { InboxSighting } from './unclassified-inbox.js';

/** At most this many sightings per poll: a first poll of a long unclassified log writes a bounded batch. */
const MAX_SIGHTINGS_PER_POLL = 20;

/** The inbox sightings among a poll's newly decided events (pure): unclassified or decided by a fallback rule. */
export function inboxSightings(
  decided: ReadonlyArray<{ event: CredentialEvent; category: string; ruleId: string }>,
  where: { provider: string; leafUserId: string; atMs: number },
): InboxSighting[] {
  const out: InboxSighting[] = [];
  for (const d of decided) {
    if (!isFallbackRule(d.ruleId)) continue;
    out.push({
      signature: eventSignature(d.event),
      ruleId: d.ruleId,
      category: d.category,
      sample: excerpt(d.event.body, 300),
      eventId: d.event.id,
      provider: where.provider,
      leafUserId: where.leafUserId,
      atMs: where.atMs,
    });
  }
  return out.slice(-MAX_SIGHTINGS_PER_POLL);
}
