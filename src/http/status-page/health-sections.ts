import type { SweepInfo } from '../../monitor/sweep-record.js';
import type { CapacityReport } from '../../monitor/capacity.js';
import { formatAgo, formatCount, formatDuration, formatTime } from './format.js';
import { html, type SafeHtml } from './safe-html.js';

/** What the page shows of one webhook endpoint (the webhook service's `endpointsState()` fits it). */
export interface EndpointHealth {
  name: string;
  disabled: boolean;
  lastSuccessAt: string | null;
  failuresInRow: number;
  deadLetters: number;
  /** The circuit's state (healthy / failing / disabled), when known. */
  state?: 'healthy' | 'failing' | 'disabled';
  /** Deliveries not yet delivered (queued, retrying, waiting for recovery, in flight), when known. */
  backlog?: number;
}

/** One word for an endpoint's health, and how worrying it is. */
export function endpointState(e: EndpointHealth): { label: string; level: 'idle' | 'ok' | 'warn' | 'bad' } {
  if (e.disabled || e.state === 'disabled') return { label: 'disabled', level: 'bad' };
  if (e.state === 'failing') return { label: 'failing', level: 'bad' };
  // Without a circuit state (older callers) any failure in a row reads as failing.
  if (e.failuresInRow > 0) return e.state === undefined ? { label: 'failing', level: 'bad' } : { label: 'retrying', level: 'warn' };
  if (e.deadLetters > 0) return { label: 'ok, with dead letters', level: 'warn' };
  if (e.lastSuccessAt === null) return { label: 'no delivery yet', level: 'idle' };
  return { label: 'ok', level: 'ok' };
}

function when(iso: string | null, nowMs: number): SafeHtml {
  return iso === null ? html`—` : html`<span>${formatTime(iso)} <span class="meta">(${formatAgo(iso, nowMs)})</span></span>`;
}

/** The capacity line: what the Leaf budget allows against CREDWATCH_POLL_INTERVAL. */
function renderCapacity(capacity: CapacityReport | null | undefined): SafeHtml | '' {
  if (capacity === undefined) return '';
  if (capacity === null) return html`<dt>Budget capacity</dt><dd class="state-warn">could not be read; see the credwatch log</dd>`;
  const keepsUp = capacity.fullPassSeconds <= capacity.configuredIntervalSeconds;
  const utilization =
    capacity.utilization === null ? '' : html` · budget ${Math.round(capacity.utilization * 100)}% used over the last minute`;
  return html`<dt>Budget capacity</dt><dd><span class="state-${keepsUp ? 'ok' : 'warn'}">full pass in ${formatDuration(capacity.fullPassSeconds * 1000)}</span> <span class="meta">(${formatCount(capacity.credentials)} credentials × ${capacity.requestsPerPoll.toFixed(2)} requests/poll at ${capacity.rps} rps${utilization})</span>${
    keepsUp
      ? ''
      : html`<br><span class="state-warn">Longer than CREDWATCH_POLL_INTERVAL (${formatDuration(capacity.configuredIntervalSeconds * 1000)}): keeping it needs CREDWATCH_LEAF_RPS=${Math.ceil(capacity.requiredRps * 10) / 10}.</span>`
  }</dd>`;
}

/** Last sweep (start, finish, duration, users listed), the age of the least recently polled credential, the budget's capacity. */
export function renderSweepSection(
  sweep: SweepInfo,
  oldestPollAgeSeconds: number | null,
  nowMs: number,
  capacity?: CapacityReport | null,
): SafeHtml {
  const started = sweep.lastStartedAt === null ? Number.NaN : Date.parse(sweep.lastStartedAt);
  const finished = sweep.lastFinishedAt === null ? Number.NaN : Date.parse(sweep.lastFinishedAt);
  // A start newer than the last finish means a sweep is listing users right now (or died doing so).
  const running = Number.isFinite(started) && (!Number.isFinite(finished) || started > finished);
  return html`<section id="sweep" aria-labelledby="sweep-h"><h2 id="sweep-h">Sweep and polling</h2>
${sweep.lastStartedAt === null ? html`<p class="empty">No sweep has run yet.</p>` : ''}
<dl class="facts">
<dt>Last sweep started</dt><dd>${when(sweep.lastStartedAt, nowMs)}${running ? html` <span class="state-warn">in progress</span>` : ''}</dd>
<dt>Last sweep finished</dt><dd>${when(sweep.lastFinishedAt, nowMs)}</dd>
<dt>Duration</dt><dd>${sweep.lastDurationMs === null ? '—' : formatDuration(sweep.lastDurationMs)}</dd>
<dt>Users listed</dt><dd>${sweep.lastUsers === null ? '—' : formatCount(sweep.lastUsers)}</dd>
<dt>Oldest poll age</dt><dd>${oldestPollAgeSeconds === null ? '— (nothing polled yet)' : formatDuration(oldestPollAgeSeconds * 1000)}</dd>
${renderCapacity(capacity)}</dl></section>`;
}

/** Health of each webhook endpoint; `null` when the webhook state could not be read. */
export function renderWebhooksSection(endpoints: readonly EndpointHealth[] | null, nowMs: number): SafeHtml {
  let body: SafeHtml;
  if (endpoints === null) body = html`<p class="state-bad">Webhook state could not be read; see the credwatch log.</p>`;
  else if (endpoints.length === 0) body = html`<p class="empty">No webhook endpoints configured.</p>`;
  else {
    const rows = endpoints.map((e) => {
      const state = endpointState(e);
      return html`<tr><td data-label="Endpoint" class="id">${e.name}</td><td data-label="State"><span class="state-${state.level}">${state.label}</span></td><td data-label="Last success">${when(e.lastSuccessAt, nowMs)}</td><td data-label="Failures in a row" class="num">${formatCount(e.failuresInRow)}</td><td data-label="Dead letters" class="num">${formatCount(e.deadLetters)}</td><td data-label="Backlog" class="num">${e.backlog === undefined ? '—' : formatCount(e.backlog)}</td></tr>`;
    });
    body = html`<div class="table-wrap"><table class="stack"><thead><tr><th scope="col">Endpoint</th><th scope="col">State</th><th scope="col">Last success</th><th scope="col" class="num">Failures in a row</th><th scope="col" class="num">Dead letters</th><th scope="col" class="num">Backlog</th></tr></thead><tbody>${rows}</tbody></table></div>`;
  }
  return html`<section id="webhooks" aria-labelledby="webhooks-h"><h2 id="webhooks-h">Webhook endpoints</h2>${body}</section>`;
}
