import type { Category } from '../../classify/categories.js';
import type { ProviderId } from '../../core/providers.js';
import type { CredentialState } from '../../monitor/credential-store.js';
import { CATEGORY_COLOURS } from './category-bar-chart.js';
import { formatAgo, formatTime } from './format.js';
import { html, type SafeHtml } from './safe-html.js';

/** The page's query: which provider, which category (undefined: every failing one), where the page starts. */
export interface StatusQuery {
  provider: ProviderId;
  category: Category | undefined;
  cursor: string | undefined;
  /** Only the credentials of the grower with this externalId (the app's own id). */
  externalId?: string;
  /** Opt-in auto-refresh: the page reloads itself every this many seconds. */
  refresh?: number;
}

/** The relative URL of the status page for a query (`?provider=…&category=…&cursor=…`), URL-encoded. */
export function pageHref(q: StatusQuery): string {
  const params = new URLSearchParams({ provider: q.provider });
  if (q.category !== undefined) params.set('category', q.category);
  if (q.cursor !== undefined) params.set('cursor', q.cursor);
  if (q.externalId !== undefined) params.set('externalId', q.externalId);
  if (q.refresh !== undefined) params.set('refresh', String(q.refresh));
  return `?${params.toString()}`;
}

/**
 * The category id behind a bar of its colour (a border, so the two never wrap apart), as in every table.
 * A narrow column may break the id after an underscore, never inside a word.
 */
export function categoryBadge(category: Category): SafeHtml {
  const parts = category.split('_').map((part, i) => html`${i > 0 ? html`_<wbr>` : ''}${part}`);
  return html`<span class="badge" style="border-left-color:${CATEGORY_COLOURS[category]}">${parts}</span>`;
}

function timeCell(iso: string, nowMs: number, label: string): SafeHtml {
  return html`<td data-label="${label}"><time datetime="${iso}" title="${formatTime(iso)}">${formatAgo(iso, nowMs)}</time></td>`;
}

function growerCell(s: CredentialState): SafeHtml {
  const g = s.grower;
  if (!g) return html`<td data-label="Grower">—</td>`;
  const name = g.name === null ? '' : html`<br><span class="meta">${g.name}</span>`;
  return html`<td data-label="Grower" class="grower" title="${g.email ?? ''}"><code>${g.externalId ?? '—'}</code>${name}</td>`;
}

function row(s: CredentialState, nowMs: number): SafeHtml {
  const detail = `api/credentials/${encodeURIComponent(s.leafUserId)}?provider=${encodeURIComponent(s.provider)}`;
  const status = s.evidence.statusCode === null ? '' : `HTTP ${s.evidence.statusCode}`;
  return html`<tr>
<td data-label="Leaf user id" class="id"><a href="${detail}">${s.leafUserId}</a></td>
${growerCell(s)}
<td data-label="Category">${categoryBadge(s.category)}</td>
<td data-label="Action">${s.action}</td>
${timeCell(s.since, nowMs, 'Since')}
${timeCell(s.lastPolledAt, nowMs, 'Last polled')}
<td data-label="Reason">${s.reason || '—'}</td>
<td data-label="Evidence" class="evidence"><span>${status ? html`<b>${status}</b> ` : ''}<code>${s.evidence.excerpt || '—'}</code></span></td>
</tr>`;
}

/** The table of credentials on this page, or a sentence saying that none match the filter. */
export function renderCredentialsTable(items: readonly CredentialState[], q: StatusQuery, nowMs: number): SafeHtml {
  if (items.length === 0) {
    const what =
      q.externalId !== undefined
        ? `No credential of a grower with externalId "${q.externalId}"${q.category === undefined ? '' : ` in ${q.category}`}.`
        : q.category === undefined
          ? 'No failing credentials: every polled credential is healthy.'
          : `No credentials in ${q.category}.`;
    return html`<p class="empty">${q.cursor === undefined ? what : 'No more credentials on this page.'}</p>`;
  }
  return html`<div class="table-wrap"><table class="credentials stack">
<thead><tr><th scope="col">Leaf user id</th><th scope="col">Grower</th><th scope="col">Category</th><th scope="col">Action</th><th scope="col">Since</th><th scope="col">Last polled</th><th scope="col">Reason</th><th scope="col">Evidence</th></tr></thead>
<tbody>${items.map((s) => row(s, nowMs))}</tbody>
</table></div>`;
}

/** "First page" (when not on it) and "Next page" (when the store returned a cursor) links. */
export function renderPager(q: StatusQuery, nextCursor: string | null): SafeHtml {
  const first = q.cursor === undefined ? '' : html`<a href="${pageHref({ ...q, cursor: undefined })}">« First page</a>`;
  const next = nextCursor === null ? '' : html`<a rel="next" href="${pageHref({ ...q, cursor: nextCursor })}">Next page »</a>`;
  return first === '' && next === '' ? html`` : html`<nav class="pager" aria-label="Pages">${first}${next}</nav>`;
}
