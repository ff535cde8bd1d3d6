import { describe, expect, it } from 'vitest';
import { CATEGORIES } from '../src/classify/categories.js';
import { parseStatusQuery } from '../src/http/routes/status.route.js';
import { pageHref } from '../src/http/status-page/credentials-table.js';
import { renderStatusPage, type StatusPageModel } from '../src/http/status-page/status-page.js';
import type { CredentialState } from '../src/monitor/credential-store.js';

const NOW = new Date('2026-11-02T12:00:00.000Z');

function state(leafUserId: string, overrides: Partial<CredentialState> = {}): CredentialState {
  return {
    provider: 'panorama',
    leafUserId,
    credentialId: `cred-${leafUserId}`,
    clientEnvironment: 'PRODUCTION',
    category: 'cognito_token_expired',
    action: 'reauthenticate',
    since: '2026-11-02T09:00:00.000Z',
    lastPolledAt: '2026-11-02T11:59:00.000Z',
    cursorMs: null,
    lastEventId: 'e1',
    ruleId: 'cognito.refresh_expired',
    reason: 'Refresh Token has expired',
    evidence: { eventId: 'e1', statusCode: 400, excerpt: '' },
    consecutiveFailures: 0,
    removedAt: null,
    grower: null,
    ...overrides,
  };
}

function model(overrides: Partial<StatusPageModel> = {}): StatusPageModel {
  return {
    version: '0.1.0',
    now: NOW,
    providers: ['panorama'],
    query: { provider: 'panorama', category: undefined, cursor: undefined },
    counts: CATEGORIES.map((category) => ({ category, count: 0 })),
    page: { items: [], nextCursor: null },
    sweep: { lastStartedAt: null, lastFinishedAt: null, lastDurationMs: null, lastUsers: null, lastCompleteStartedAt: null },
    oldestPollAgeSeconds: null,
    endpoints: [],
    metricsHref: 'metrics',
    ...overrides,
  };
}

describe('status page for the operator', () => {
  it('counts the failing rows as the cards do: need action plus provider_unavailable', () => {
    const counts = CATEGORIES.map((category) => ({
      category,
      count: category === 'healthy' ? 5 : category === 'provider_unavailable' ? 1 : category === 'cognito_token_expired' ? 12 : 0,
    }));
    const page = String(renderStatusPage(model({ counts })));
    expect(page).toMatch(/id="need-action"><span class="value">12</);
    expect(page).toContain('13 failing: 12 need action, 1 provider unavailable');
    expect(page).not.toContain('Credentials that need action');
  });

  it('shows the grower (externalId, name; email as a tooltip) in a column', () => {
    const items = [state('u1', { grower: { externalId: 'crm-17', name: 'Ada <Farms>', email: 'ada@example.com' } }), state('u2')];
    const page = String(renderStatusPage(model({ page: { items, nextCursor: null } })));
    expect(page).toContain('<th scope="col">Grower</th>');
    expect(page).toContain(
      '<td data-label="Grower" class="grower" title="ada@example.com"><code>crm-17</code><br><span class="meta">Ada &lt;Farms&gt;</span></td>',
    );
    expect(page).toContain('<td data-label="Grower">—</td>');
  });

  it('has an externalId search box and an opt-in auto-refresh kept across pages', () => {
    const plain = String(renderStatusPage(model()));
    expect(plain).toContain('name="externalId"');
    expect(plain).not.toContain('http-equiv="refresh"');
    const parsed = parseStatusQuery({ externalId: 'crm-17', refresh: '30' }, ['panorama']);
    expect(parsed).toEqual({
      ok: true,
      query: { provider: 'panorama', category: undefined, cursor: undefined, externalId: 'crm-17', refresh: 30 },
    });
    if (!parsed.ok) return;
    const page = String(renderStatusPage(model({ query: parsed.query })));
    expect(page).toContain('<meta http-equiv="refresh" content="30">');
    expect(page).toContain('Credentials of grower <code>crm-17</code>');
    expect(page).toContain('No credential of a grower with externalId &quot;crm-17&quot;');
    expect(pageHref({ ...parsed.query, cursor: 'cognito_token_expired|u1' })).toBe(
      '?provider=panorama&cursor=cognito_token_expired%7Cu1&externalId=crm-17&refresh=30',
    );
    expect(parseStatusQuery({ refresh: '1' }, ['panorama'])).toMatchObject({ ok: false, parameter: 'refresh' });
  });
});
