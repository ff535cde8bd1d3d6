import type { FleetIncident } from '../../incidents/incident-store.js';
import { formatCount, formatTime } from './format.js';
import { html, type SafeHtml } from './safe-html.js';

const STYLE = 'border:2px solid #b42318;background:#fef3f2;color:#7a271a;padding:.75rem 1rem;margin:0 0 1rem;border-radius:6px';

/**
 * The banner over the status page while fleet incidents are open: one shared cause, the growers'
 * notifications held. Empty when none is open.
 */
export function renderIncidentBanner(incidents: readonly FleetIncident[] | undefined): SafeHtml | '' {
  const open = (incidents ?? []).filter((i) => i.status === 'open');
  if (open.length === 0) return '';
  const items = open.map(
    (i) =>
      html`<li><strong>${i.id}</strong>: <code>${i.signature}</code> on ${formatCount(i.count)} credentials (${Math.round(i.share * 100)} % of those polled), since ${formatTime(i.firstSeenAt)}. ${i.likelyCause} ${formatCount(i.held)} grower notifications held. <a href="api/incidents/${i.id}">Details</a></li>`,
  );
  return html`<section id="incidents" role="alert" style="${STYLE}"><h2>Fleet incident${open.length > 1 ? 's' : ''} open</h2><ul>${items}</ul><p class="meta">Release or discard the held notifications with <code>POST /api/incidents/{id}/release</code> or <code>/discard</code> (docs/runbooks.md, CredwatchFleetIncident).</p></section>`;
}
