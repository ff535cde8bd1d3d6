/** Every webhook event type credwatch sends to apps (the `event` label of the delivery metrics); incident.* are about the fleet, not one credential. */
export const WEBHOOK_EVENT_TYPES = ['credential.action_required', 'credential.recovered', 'incident.opened', 'incident.resolved'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The health states of a webhook endpoint's circuit (the `state` label of credwatch_webhook_endpoint_state). */
export const ENDPOINT_STATES = ['healthy', 'failing', 'disabled'] as const;
export type EndpointCircuitState = (typeof ENDPOINT_STATES)[number];
