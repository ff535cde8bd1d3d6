import { describe, expect, it } from 'vitest';
import { CATEGORIES, type Category } from '../src/classify/categories.js';
import type { CredentialState } from '../src/monitor/credential-store.js';
import type { SweepInfo } from '../src/monitor/sweep-record.js';
import { parseStatusQuery } from '../src/http/routes/status.route.js';
import { barWidths, renderCategoryBarChart } from '../src/http/status-page/category-bar-chart.js';
import { pageHref, renderCredentialsTable, renderPager } from '../src/http/status-page/credentials-table.js';
import { formatAgo, formatCount, formatDuration, formatPercent, formatTime } from '../src/http/status-page/format.js';
import { endpointState, renderSweepSection, renderWebhooksSection } from '../src/http/status-page/health-sections.js';
import { escapeHtml, html, SafeHtml } from '../src/http/status-page/safe-html.js';
import { renderStatusPage, type StatusPageModel } from '../src/http/status-page/status-page.js';
import { computeCapacity } from '../src/monitor/capacity.js';

const NOW = new Date('2026-11-02T12:00:00.000Z');
const EVIL = '<script>alert("x")</script>';

function state(overrides: Partial<CredentialState> = {}): CredentialState {
  return {
    provider: 'panorama',
    leafUserId: 'user-1',
    credentialId: 'cred-1',
    clientEnvironment: 'PRODUCTION',
    category: 'cognito_token_expired',
    action: 'reauthenticate',
    since: '2026-11-02T09:00:00.000Z',
    lastPolledAt: '2026-11-02T11:59:00.000Z',
    cursorMs: null,
    lastEventId: 'e1',
    ruleId: 'cognito.refresh_expired',
    reason: 'Refresh Token has expired',
    evidence: { eventId: 'e1', statusCode: 400, excerpt: '{"__type":"NotAuthorizedException"}' },
    consecutiveFailures: 0,
    removedAt: null,
    ...overrides,
  };
}

const NO_SWEEP: SweepInfo = {
  lastStartedAt: null,
  lastFinishedAt: null,
  lastDurationMs: null,
  lastUsers: null,
  lastCompleteStartedAt: null,
};

function model(overrides: Partial<StatusPageModel> = {}): StatusPageModel {
  return {
    version: '0.1.0',
    now: NOW,
    providers: ['panorama'],
    query: { provider: 'panorama', category: undefined, cursor: undefined },
    counts: CATEGORIES.map((category) => ({ category, count: 0 })),
    page: { items: [], nextCursor: null },
    sweep: NO_SWEEP,
    oldestPollAgeSeconds: null,
    endpoints: [],
    metricsHref: 'metrics',
    ...overrides,
  };
}

function rectWidths(svg: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of svg.matchAll(/data-category="([a-z_]+)">.*?<rect [^>]*width="([\d.]+)"/g)) out[m[1] ?? ''] = Number(m[2]);
  return out;
}

describe('html escaping', () => {
  it('escapes interpolated text and attributes, keeps SafeHtml and joins lists', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const out = String(html`<p title="${'" onclick="x'}">${EVIL}${html`<b>ok</b>`}${['<i>', 1]}${null}${undefined}${false}</p>`);
    expect(out).toBe('<p title="&quot; onclick=&quot;x">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<b>ok</b>&lt;i&gt;1</p>');
    expect(html`${new SafeHtml('<hr>')}`.value).toBe('<hr>');
  });

  it('never lets a user id, reason, evidence or endpoint name from outside become markup', () => {
    const page = String(
      renderStatusPage(
        model({
          page: {
            items: [
              state({
                leafUserId: EVIL,
                reason: EVIL,
                evidence: { eventId: 'e', statusCode: 401, excerpt: `${EVIL}<img src=x onerror=alert(1)>` },
              }),
            ],
            nextCursor: `cognito_token_expired|${EVIL}`,
          },
          endpoints: [{ name: EVIL, disabled: false, lastSuccessAt: null, failuresInRow: 0, deadLetters: 0 }],
        }),
      ),
    );
    expect(page).not.toContain('<script');
    expect(page).not.toContain('<img');
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    // In the link to the API detail the id is URL-encoded, so it cannot leave the attribute either.
    expect(page).toContain(`api/credentials/${encodeURIComponent(EVIL)}?provider=panorama`);
  });
});

describe('category bar chart', () => {
  it('makes bar widths proportional to the counts, the largest full width', () => {
    expect(barWidths([100, 50, 25, 0], 200)).toEqual([200, 100, 50, 0]);
    expect(barWidths([0, 0], 200)).toEqual([0, 0]);
    // One failing credential among a million healthy ones stays visible.
    expect(barWidths([1_000_000, 1], 200)).toEqual([200, 2]);
  });

  it('draws one labelled, coloured bar per category with a title and an accessible description', () => {
    const svg = String(
      renderCategoryBarChart([
        { category: 'healthy', count: 80 },
        { category: 'cognito_token_expired', count: 40 },
        { category: 'not_connected', count: 20 },
        { category: 'unclassified', count: 0 },
      ]),
    );
    const widths = rectWidths(svg);
    expect(widths['healthy']).toBe(200);
    expect(widths['cognito_token_expired']).toBe(100);
    expect(widths['not_connected']).toBe(50);
    expect(widths['unclassified']).toBe(0);
    expect(svg).toMatch(/^<svg [^>]*role="img" aria-labelledby="chart-title chart-desc"/);
    expect(svg).toContain('<title id="chart-title">Credentials per category (140 in all)</title>');
    expect(svg).toContain('<title>cognito_token_expired: 40 (28.6 %)</title>');
    expect(svg).toContain('fill="#2e7d32"');
    expect(svg).toContain('fill="#c62828"');
  });
});

describe('credentials table and pager', () => {
  const q = { provider: 'panorama' as const, category: undefined, cursor: undefined };

  it('shows every column of a credential', () => {
    const out = String(renderCredentialsTable([state()], q, NOW.getTime()));
    // The category id may break after an underscore (<wbr>) but reads whole.
    expect(out).toContain('cognito_<wbr>token_<wbr>expired');
    const text = out.replace(/<wbr>/g, '');
    for (const shown of [
      'user-1',
      'cognito_token_expired',
      'reauthenticate',
      '3 h ago',
      '1 min ago',
      'Refresh Token has expired',
      'HTTP 400',
      'NotAuthorizedException',
    ]) {
      expect(text).toContain(escapeHtml(shown));
    }
    for (const label of ['Leaf user id', 'Category', 'Action', 'Since', 'Last polled', 'Reason', 'Evidence'])
      expect(out).toContain(`data-label="${label}"`);
  });

  it('says so when nothing matches, per filter', () => {
    expect(String(renderCredentialsTable([], q, 0))).toContain('No failing credentials');
    expect(String(renderCredentialsTable([], { ...q, category: 'missing_permission' }, 0))).toContain(
      'No credentials in missing_permission.',
    );
    expect(String(renderPager(q, null))).toBe('');
  });

  it('puts the store cursor, the provider and the category in the next link, and offers the first page', () => {
    const cursor = 'missing_permission|user 7&x=<y>';
    const out = String(renderPager({ ...q, category: 'missing_permission', cursor: 'missing_permission|a' }, cursor));
    const next = /<a rel="next" href="([^"]+)"/.exec(out)?.[1] ?? '';
    const params = new URLSearchParams(next.replaceAll('&amp;', '&').slice(1));
    expect(params.get('cursor')).toBe(cursor);
    expect(params.get('category')).toBe('missing_permission');
    expect(params.get('provider')).toBe('panorama');
    expect(out).toContain(`href="${escapeHtml(pageHref({ ...q, category: 'missing_permission' }))}">« First page`);
  });
});

describe('status page', () => {
  it('shows totals, the healthy share and per-category counts linked to their filter', () => {
    const counts: Array<{ category: Category; count: number }> = [
      { category: 'healthy', count: 1500 },
      { category: 'cognito_token_expired', count: 300 },
      { category: 'provider_unavailable', count: 200 },
    ];
    const page = String(renderStatusPage(model({ counts })));
    expect(page).toMatch(/id="total"><span class="value">2,000</);
    expect(page).toMatch(/id="healthy-share"><span class="value">75\.0 %</);
    expect(page).toMatch(/id="need-action"><span class="value">300</);
    expect(page).toMatch(/id="unavailable"><span class="value">200</);
    expect(page).toContain('href="?provider=panorama&amp;category=cognito_token_expired"');
    expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(page).toContain('href="metrics"');
    expect(page).toContain('href="api/summary"');
    expect(page).toContain('href="api/credentials?provider=panorama"');
    expect(page).not.toMatch(/<script|src="http|href="http/);
  });

  it('renders an empty installation without dividing by zero', () => {
    const page = String(renderStatusPage(model()));
    expect(page).toMatch(/id="total"><span class="value">0</);
    expect(page).toMatch(/id="healthy-share"><span class="value">—</);
    expect(page).toContain('No failing credentials');
    expect(page).toContain('No sweep has run yet.');
    expect(page).toContain('No webhook endpoints configured.');
    expect(page).not.toContain('NaN');
  });

  it('names the metrics port instead of linking when metrics are served apart', () => {
    const page = String(renderStatusPage(model({ metricsHref: null })));
    expect(page).not.toContain('href="metrics"');
    expect(page).toContain('<code>/metrics</code> on the metrics port (<code>CREDWATCH_METRICS_PORT</code>)');
  });

  it('offers a provider switch only when several providers are watched', () => {
    expect(String(renderStatusPage(model()))).not.toContain('name="provider"><option');
    const two = String(renderStatusPage(model({ providers: ['panorama', 'john_deere'] })));
    expect(two).toContain('<option value="john_deere">John Deere</option>');
    expect(two).toContain('href="?provider=john_deere"');
  });
});

describe('sweep and webhook sections', () => {
  it('shows the last sweep, a sweep in progress and the oldest poll age', () => {
    const sweep: SweepInfo = {
      lastStartedAt: '2026-11-02T11:50:00.000Z',
      lastFinishedAt: '2026-11-02T11:50:42.000Z',
      lastDurationMs: 42_000,
      lastUsers: 12_345,
      lastCompleteStartedAt: '2026-11-02T11:50:00.000Z',
    };
    const done = String(renderSweepSection(sweep, 125, NOW.getTime()));
    expect(done).toContain('2026-11-02 11:50:00 UTC');
    expect(done).toContain('42 s');
    expect(done).toContain('12,345');
    expect(done).toContain('2 min 5 s');
    expect(done).not.toContain('in progress');
    expect(String(renderSweepSection({ ...sweep, lastStartedAt: '2026-11-02T11:55:00.000Z' }, null, NOW.getTime()))).toContain(
      'in progress',
    );
  });

  it('classifies endpoint health and says when the webhook state is unreadable', () => {
    const base = { name: 'app', disabled: false, lastSuccessAt: '2026-11-02T11:00:00.000Z', failuresInRow: 0, deadLetters: 0 };
    expect(endpointState(base)).toEqual({ label: 'ok', level: 'ok' });
    expect(endpointState({ ...base, lastSuccessAt: null })).toEqual({ label: 'no delivery yet', level: 'idle' });
    expect(endpointState({ ...base, deadLetters: 2 }).level).toBe('warn');
    expect(endpointState({ ...base, failuresInRow: 3 })).toEqual({ label: 'failing', level: 'bad' });
    expect(endpointState({ ...base, disabled: true, failuresInRow: 3 })).toEqual({ label: 'disabled', level: 'bad' });
    const table = String(renderWebhooksSection([{ ...base, failuresInRow: 3, deadLetters: 1234 }], NOW.getTime()));
    expect(table).toContain('failing');
    expect(table).toContain('1,234');
    expect(table).toContain('(1 h ago)');
    expect(String(renderWebhooksSection(null, 0))).toContain('could not be read');
  });

  it('shows the circuit state and the backlog of each endpoint', () => {
    const base = { name: 'app', disabled: false, lastSuccessAt: '2026-11-02T11:00:00.000Z', failuresInRow: 0, deadLetters: 0 };
    expect(endpointState({ ...base, state: 'failing', failuresInRow: 7 })).toEqual({ label: 'failing', level: 'bad' });
    expect(endpointState({ ...base, state: 'healthy', failuresInRow: 2 })).toEqual({ label: 'retrying', level: 'warn' });
    expect(endpointState({ ...base, state: 'disabled' })).toEqual({ label: 'disabled', level: 'bad' });
    const table = String(renderWebhooksSection([{ ...base, state: 'failing', failuresInRow: 7, backlog: 4321 }], NOW.getTime()));
    expect(table).toContain('Backlog');
    expect(table).toContain('4,321');
    expect(table).toContain('state-bad">failing');
  });
});

describe('query parsing', () => {
  const providers = ['panorama'] as const;

  it('accepts the form values, treating empty ones as not given', () => {
    expect(parseStatusQuery({}, providers)).toEqual({ ok: true, query: { provider: 'panorama', category: undefined, cursor: undefined } });
    expect(parseStatusQuery({ provider: '', category: '', cursor: '' }, providers)).toEqual({
      ok: true,
      query: { provider: 'panorama', category: undefined, cursor: undefined },
    });
    expect(parseStatusQuery({ category: 'not_connected', cursor: 'not_connected|u9' }, providers)).toEqual({
      ok: true,
      query: { provider: 'panorama', category: 'not_connected', cursor: 'not_connected|u9' },
    });
  });

  it.each([
    ['an unknown category', { category: 'expired' }, 'category'],
    ['a provider not watched', { provider: 'john_deere' }, 'provider'],
    ['a repeated parameter', { category: ['healthy', 'unclassified'] }, 'category'],
    ['an unknown parameter', { limit: '5' }, 'limit'],
    ['a cursor of another shape', { cursor: 'garbage' }, 'cursor'],
    ['a healthy cursor on the failing view', { cursor: 'healthy|u1' }, 'cursor'],
    ['a cursor of another category', { category: 'not_connected', cursor: 'unclassified|u1' }, 'cursor'],
    ['an overlong cursor', { cursor: `unclassified|${'x'.repeat(400)}` }, 'cursor'],
  ])('rejects %s, naming the parameter', (_label, raw, parameter) => {
    const r = parseStatusQuery(raw as Record<string, unknown>, providers);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.parameter).toBe(parameter);
      expect(r.message).toContain(parameter);
    }
  });
});

describe('formatting', () => {
  it('formats times, durations, ages, shares and counts for people', () => {
    expect(formatTime('2026-11-02T10:15:03.123456Z')).toBe('2026-11-02 10:15:03 UTC');
    expect(formatTime('')).toBe('—');
    expect(formatTime('nonsense')).toBe('—');
    expect([850, 4_200, 12_300, 245_000, 11_520_000, 187_200_000, 14_400_000].map(formatDuration)).toEqual([
      '850 ms',
      '4.2 s',
      '12 s',
      '4 min 5 s',
      '3 h 12 min',
      '2 d 4 h',
      '4 h',
    ]);
    expect(formatAgo('2026-11-02T11:59:30.000Z', NOW.getTime())).toBe('30 s ago');
    expect(formatAgo('2026-11-02T12:00:05.000Z', NOW.getTime())).toBe('just now');
    expect(formatPercent(1, 3)).toBe('33.3 %');
    expect(formatPercent(0, 0)).toBe('—');
    expect(formatCount(1234567)).toBe('1,234,567');
  });
});

describe('budget capacity line', () => {
  const sweep: SweepInfo = {
    lastStartedAt: '2026-12-01T12:00:00.000Z',
    lastFinishedAt: '2026-12-01T12:01:00.000Z',
    lastDurationMs: 60_000,
    lastUsers: 20_000,
    lastCompleteStartedAt: '2026-12-01T12:00:00.000Z',
  };
  const now = Date.parse('2026-12-01T12:05:00Z');

  it('says in amber how much budget keeping the interval needs when the full pass is longer', () => {
    const capacity = computeCapacity({ credentials: 20_000, requestsPerPoll: 1.02, rps: 10, pollIntervalMs: 900_000, providers: 1 }, 0.99);
    const text = String(renderSweepSection(sweep, 2000, now, capacity));
    expect(text).toContain('Budget capacity');
    expect(text).toContain('state-warn');
    expect(text).toContain('CREDWATCH_LEAF_RPS=23.2');
    expect(text).toContain('99% used over the last minute');
  });

  it('is plain when the interval fits, absent when not wired, and a warning when unreadable', () => {
    const fits = computeCapacity({ credentials: 1000, requestsPerPoll: 1.02, rps: 10, pollIntervalMs: 900_000, providers: 1 });
    expect(String(renderSweepSection(sweep, 100, now, fits))).not.toContain('CREDWATCH_LEAF_RPS=');
    expect(String(renderSweepSection(sweep, 100, now))).not.toContain('Budget capacity');
    expect(String(renderSweepSection(sweep, 100, now, null))).toContain('could not be read');
  });
});
