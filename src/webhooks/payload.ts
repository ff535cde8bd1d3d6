import { ACTION_BY_CATEGORY, REMEDIATION_BY_CATEGORY } from '../classify/categories.js';
import { CredwatchError } from '../errors.js';
import type { Transition } from '../monitor/transition.js';
import { excerpt as redactedExcerpt } from '../redact.js';
import type { WebhookEventType } from '../core/webhook-event-types.js';

/** The grower as the app knows it (`externalId` is the app's own id); email only when configured. */
function growerPayload(
  transition: Transition,
  includeEmail: boolean,
): { externalId: string | null; name: string | null; email?: string | null } {
  const g = transition.grower;
  const out: { externalId: string | null; name: string | null; email?: string | null } = {
    externalId: g?.externalId ?? null,
    name: g?.name ?? null,
  };
  if (includeEmail) out.email = g?.email ?? null;
  return out;
}

/** Largest webhook body credwatch sends, in bytes. */
export const MAX_BODY_BYTES = 8 * 1024;
const EXCERPT_CHARS = 500;

/**
 * Serialises the webhook body for a transition ONCE: these exact bytes are stored, signed and sent.
 * The evidence excerpt is redacted again and shortened until the body fits in 8 KiB.
 */
export function buildWebhookBody(
  transition: Transition,
  type: WebhookEventType,
  now: Date | number,
  options: { includeEmail?: boolean } = {},
): string {
  const timestamp = new Date(now).toISOString();
  const grower = growerPayload(transition, options.includeEmail ?? true);
  const build = (excerptText: string): string =>
    JSON.stringify({
      type,
      timestamp,
      data: {
        leafUserId: transition.leafUserId,
        provider: transition.provider,
        credentialId: transition.credentialId,
        clientEnvironment: transition.clientEnvironment,
        category: transition.to,
        previousCategory: transition.from,
        action: ACTION_BY_CATEGORY[transition.to],
        since: transition.since,
        grower,
        remediation: REMEDIATION_BY_CATEGORY[transition.to],
        evidence: {
          eventId: transition.evidence.eventId,
          statusCode: transition.evidence.statusCode,
          excerpt: excerptText,
        },
      },
    });
  let max = EXCERPT_CHARS;
  for (;;) {
    const body = build(redactedExcerpt(transition.evidence.excerpt, max));
    if (Buffer.byteLength(body, 'utf8') <= MAX_BODY_BYTES) return body;
    if (max === 0) {
      throw new CredwatchError(
        'WEBHOOK_PAYLOAD_TOO_LARGE',
        `webhook body for transition ${transition.id} exceeds ${MAX_BODY_BYTES} bytes without evidence`,
      );
    }
    max = Math.floor(max / 2);
  }
}
