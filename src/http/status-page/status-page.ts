import type { CapacityReport } from '../../monitor/capacity.js';
import { CATEGORIES, ACTION_BY_CATEGORY, needsAction, type Category } from '../../classify/categories.js';
import { PROVIDERS, type ProviderId } from '../../core/providers.js';
import type { CredentialState } from '../../monitor/credential-store.js';
import type { SweepInfo } from '../../monitor/sweep-record.js';
import { renderCategoryBarChart } from './category-bar-chart.js';
import { categoryBadge, pageHref, renderCredentialsTable, renderPager, type StatusQuery } from './credentials-table.js';
import { formatCount, formatPercent, formatTime } from './format.js';
import { renderSweepSection, renderWebhooksSection, type EndpointHealth } from './health-sections.js';
import { renderIncidentBanner } from './incident-banner.js';
import { renderLayout } from './status-layout.js';
import type { FleetIncident } from '../../incidents/incident-store.js';
import { renderUnclassifiedSection } from './unclassified-section.js';
import type { InboxSignature } from '../../monitor/unclassified-inbox.js';
import { html, type SafeHtml } from './safe-html.js';

/** Everything the status page shows, gathered by the route; rendering is pure. */
export interface StatusPageModel {
  version: string;
  now: Date;
  providers: readonly ProviderId[];
  query: StatusQuery;
  /** Credentials of the selected provider per category (missing categories count 0). */
  counts: ReadonlyArray<{ category: Category; count: number }>;
  page: { items: readonly CredentialState[]; nextCursor: string | null };
  sweep: SweepInfo;
  /** Age of the least recently polled credential of the selected provider; null when none was polled. */
  oldestPollAgeSeconds: number | null;
  /** null when the webhook state could not be read. */
  endpoints: readonly EndpointHealth[] | null;
  /** Link to `/metrics`; null when they are on the separate CREDWATCH_METRICS_PORT. */
  metricsHref: string | null;
  /** Fleet incidents (open ones get a banner); absent when they could not be read. */
  incidents?: readonly FleetIncident[] | undefined;
  /** The unclassified inbox's most recent signatures; null when unreadable; absent when not wired. */
  unclassified?: readonly InboxSignature[] | null;
  /** What the Leaf budget allows; null when unreadable; absent when not wired. */
  capacity?: CapacityReport | null;
}

/** What the auto-refresh checkbox offers when the page is not refreshing yet. */
const DEFAULT_REFRESH_SECONDS = 30;

/** Counts in CATEGORIES order, every category present. */
function orderedCounts(counts: StatusPageModel['counts']): Array<{ category: Category; count: number }> {
  const by = new Map<Category, number>();
  for (const c of counts) by.set(c.category, (by.get(c.category) ?? 0) + c.count);
  return CATEGORIES.map((category) => ({ category, count: by.get(category) ?? 0 }));
}

function card(value: string, label: string, id: string): SafeHtml {
  return html`<div class="card" id="${id}"><span class="value">${value}</span><span class="label">${label}</span></div>`;
}

function renderSummary(m: StatusPageModel): SafeHtml {
  const rows = orderedCounts(m.counts);
  const total = rows.reduce((s, r) => s + r.count, 0);
  const healthy = rows.find((r) => r.category === 'healthy')?.count ?? 0;
  // Same rule as /api/summary's needingAction, so the two never disagree.
  const needing = rows.filter((r) => needsAction(r.category, true)).reduce((s, r) => s + r.count, 0);
  const unavailable = rows.find((r) => r.category === 'provider_unavailable')?.count ?? 0;
  const tableRows = rows.map(
    (r) =>
      html`<tr><td data-label="Category"><a href="${pageHref({ provider: m.query.provider, category: r.category, cursor: undefined })}">${categoryBadge(r.category)}</a></td><td data-label="Action" class="col-action">${ACTION_BY_CATEGORY[r.category]}</td><td data-label="Count" class="num" data-count="${r.count}">${formatCount(r.count)}</td><td data-label="Share" class="num">${formatPercent(r.count, total)}</td></tr>`,
  );
  return html`<section id="summary" aria-labelledby="summary-h"><h2 id="summary-h">Credentials by category</h2>
<div class="cards">${card(formatCount(total), 'credentials watched', 'total')}${card(formatPercent(healthy, total), `healthy (${formatCount(healthy)})`, 'healthy-share')}${card(formatCount(needing), 'need action', 'need-action')}${card(formatCount(unavailable), 'provider unavailable', 'unavailable')}</div>
<div class="overview"><div>${renderCategoryBarChart(rows)}</div>
<div class="table-wrap"><table class="categories"><thead><tr><th scope="col">Category</th><th scope="col" class="col-action">Action</th><th scope="col" class="num">Count</th><th scope="col" class="num">Share</th></tr></thead><tbody>${tableRows}</tbody></table></div></div>
</section>`;
}

function renderFilter(m: StatusPageModel): SafeHtml {
  const selected = (on: boolean) => (on ? html` selected` : '');
  const providerSelect =
    m.providers.length > 1
      ? html`<label>Provider<select name="provider">${m.providers.map((p) => html`<option value="${p}"${selected(p === m.query.provider)}>${PROVIDERS[p].name}</option>`)}</select></label>`
      : html`<input type="hidden" name="provider" value="${m.query.provider}">`;
  const categoryOptions = CATEGORIES.map((c) => html`<option value="${c}"${selected(c === m.query.category)}>${c}</option>`);
  const search = html`<label>Grower externalId<input type="search" name="externalId" maxlength="200" value="${m.query.externalId ?? ''}" placeholder="the app's grower id"></label>`;
  const refresh = html`<label><input type="checkbox" name="refresh" value="${String(m.query.refresh ?? DEFAULT_REFRESH_SECONDS)}"${m.query.refresh === undefined ? '' : html` checked`}> refresh every ${String(m.query.refresh ?? DEFAULT_REFRESH_SECONDS)} s</label>`;
  return html`<form class="filter" method="get" action="">${providerSelect}<label>Category<select name="category"><option value=""${selected(m.query.category === undefined)}>every failing category</option>${categoryOptions}</select></label>${search}${refresh}<button type="submit">Show</button></form>`;
}

function renderCredentials(m: StatusPageModel): SafeHtml {
  const rows = orderedCounts(m.counts);
  const needing = rows.filter((r) => needsAction(r.category, true)).reduce((s, r) => s + r.count, 0);
  const unavailable = rows.find((r) => r.category === 'provider_unavailable')?.count ?? 0;
  const heading =
    m.query.externalId !== undefined
      ? html`Credentials of grower <code>${m.query.externalId}</code>`
      : m.query.category === undefined
        ? 'Failing credentials'
        : html`Credentials in ${categoryBadge(m.query.category)}`;
  // The same figures as the cards above: the rows are those needing action plus provider_unavailable.
  const scope =
    m.query.category === undefined && m.query.externalId === undefined
      ? html`<p class="meta" id="failing-count">${formatCount(needing + unavailable)} failing: ${formatCount(needing)} need action, ${formatCount(unavailable)} provider unavailable (nobody needs to act yet). By category, longest in it first.</p>`
      : '';
  return html`<section id="credentials" aria-labelledby="credentials-h"><h2 id="credentials-h">${heading}</h2>${scope}
${renderFilter(m)}
${renderCredentialsTable(m.page.items, m.query, m.now.getTime())}
${renderPager(m.query, m.page.nextCursor)}
</section>`;
}

function renderLinks(m: StatusPageModel): SafeHtml {
  const provider = encodeURIComponent(m.query.provider);
  return html`<section id="links" aria-labelledby="links-h"><h2 id="links-h">Machine-readable</h2><ul class="links">
${m.metricsHref === null ? html`<li>Prometheus metrics: <code>/metrics</code> on the metrics port (<code>CREDWATCH_METRICS_PORT</code>)</li>` : html`<li><a href="${m.metricsHref}">Prometheus metrics</a> (<code>/metrics</code>)</li>`}
<li><a href="api/summary">Summary API</a> (<code>/api/summary</code>)</li>
<li><a href="api/credentials?provider=${provider}">Credentials API</a> (<code>/api/credentials</code>)</li>
</ul></section>`;
}

/** The whole status page as an HTML document. */
export function renderStatusPage(m: StatusPageModel): SafeHtml {
  const providerName = PROVIDERS[m.query.provider].name;
  const providerLinks =
    m.providers.length > 1
      ? html`<nav class="meta" aria-label="Providers">${m.providers.map((p, i) => html`${i > 0 ? ' · ' : ''}${p === m.query.provider ? html`<strong>${PROVIDERS[p].name}</strong>` : html`<a href="${pageHref({ provider: p, category: undefined, cursor: undefined })}">${PROVIDERS[p].name}</a>`}`)}</nav>`
      : '';
  const body = html`<header><h1>credwatch · ${providerName} credentials</h1><span class="meta">version ${m.version} · generated ${formatTime(m.now.toISOString())}</span>${providerLinks}</header>
<main>
${renderIncidentBanner(m.incidents)}
${renderSummary(m)}
${renderCredentials(m)}
<div class="overview">${renderSweepSection(m.sweep, m.oldestPollAgeSeconds, m.now.getTime(), m.capacity)}${renderWebhooksSection(m.endpoints, m.now.getTime())}</div>
${renderUnclassifiedSection(m.unclassified)}
${renderLinks(m)}
</main>`;
  return renderLayout({ title: `credwatch · ${providerName} credentials`, body, refreshSeconds: m.query.refresh });
}
