import type { FleetIncident } from './incident-store.js';

/** The two incident webhook types. */
export type IncidentEventType = 'incident.opened' | 'incident.resolved';

/**
 * The body of an incident webhook, serialised once (signed and sent as these bytes). Carries no
 * credential or grower identifiers: it is about the fleet, for the integrator's engineer.
 */
export function buildIncidentBody(incident: FleetIncident, type: IncidentEventType, now: Date | number): string {
  return JSON.stringify({
    type,
    timestamp: new Date(now).toISOString(),
    data: {
      incidentId: incident.id,
      status: incident.status,
      signature: incident.signature,
      signatureId: incident.signatureId,
      category: incident.category,
      statusCode: incident.statusCode,
      errorType: incident.errorType,
      messageTemplate: incident.messageTemplate,
      count: incident.count,
      share: incident.share,
      firstSeenAt: incident.firstSeenAt,
      lastSeenAt: incident.lastSeenAt,
      openedAt: incident.openedAt,
      likelyCause: incident.likelyCause,
      ...(type === 'incident.resolved'
        ? { resolvedAt: incident.resolvedAt, resolution: incident.resolution, recovered: incident.recovered }
        : {}),
    },
  });
}
