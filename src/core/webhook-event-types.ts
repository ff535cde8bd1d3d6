/** Every webhook event type credwatch sends to apps (the `event` label of the delivery metrics). */
export const WEBHOOK_EVENT_TYPES = ['credential.action_required', 'credential.recovered'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
