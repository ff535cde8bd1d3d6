import { describe, expect, it } from 'vitest';
import type { FleetIncident } from '../src/incidents/incident-store.js';
import { renderIncidentBanner } from '../src/http/status-page/incident-banner.js';

const incident: FleetIncident = {
  id: 'inc_7',
  status: 'open',
  signatureId: 'abc',
  signature: 'cognito_token_expired|400|notauthorizedexception|<script>alert(1)</script>',
  category: 'cognito_token_expired',
  statusCode: 400,
  errorType: 'notauthorizedexception',
  messageTemplate: 'incorrect username or password.',
  likelyCause: 'The partner password changed.',
  count: 1234,
  share: 0.42,
  firstSeenAt: '2026-12-03T06:00:00.000Z',
  lastSeenAt: '2026-12-03T06:05:00.000Z',
  openedAt: '2026-12-03T06:01:00.000Z',
  resolvedAt: null,
  resolution: null,
  recovered: 0,
  held: 1200,
};

describe('renderIncidentBanner', () => {
  it('shows each open incident with its signature (escaped), size, cause and held notifications', () => {
    const out = String(renderIncidentBanner([incident, { ...incident, id: 'inc_6', status: 'resolved' }]));
    expect(out).toContain('Fleet incident open');
    expect(out).toContain('inc_7');
    expect(out).not.toContain('inc_6');
    expect(out).toContain('&lt;script&gt;');
    expect(out).not.toContain('<script>');
    expect(out).toMatch(/42 %/);
    expect(out).toContain('The partner password changed.');
    expect(out).toMatch(/1.?200 grower notifications held/);
  });

  it('renders nothing when no incident is open or they could not be read', () => {
    expect(String(renderIncidentBanner([{ ...incident, status: 'resolved' }]))).toBe('');
    expect(String(renderIncidentBanner(undefined))).toBe('');
  });
});
