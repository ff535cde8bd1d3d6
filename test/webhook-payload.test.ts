import { describe, expect, it } from 'vitest';
import type { Transition } from '../src/monitor/transition.js';
import { buildWebhookBody, MAX_BODY_BYTES } from '../src/webhooks/payload.js';

const transition: Transition = {
  id: 'tr-1',
  at: '2026-11-02T10:20:00.000Z',
  provider: 'panorama',
  leafUserId: 'user-1',
  credentialId: 'cred-1',
  clientEnvironment: 'PRODUCTION',
  from: 'healthy',
  to: 'cognito_token_expired',
  action: 'reauthenticate',
  since: '2026-11-02T10:15:03.123456Z',
  ruleId: 'cognito-refresh-expired',
  reason: 'Refresh Token has expired',
  evidence: { eventId: 'ex-002', statusCode: 400, excerpt: '{"__type": "NotAuthorizedException", "message": "Refresh Token has expired"}' },
};

describe('buildWebhookBody', () => {
  it('serialises the documented shape', () => {
    const body = buildWebhookBody(transition, 'credential.action_required', Date.parse('2026-11-02T10:20:01Z'));
    expect(JSON.parse(body)).toEqual({
      type: 'credential.action_required',
      timestamp: '2026-11-02T10:20:01.000Z',
      data: {
        leafUserId: 'user-1',
        provider: 'panorama',
        credentialId: 'cred-1',
        clientEnvironment: 'PRODUCTION',
        category: 'cognito_token_expired',
        previousCategory: 'healthy',
        action: 'reauthenticate',
        since: '2026-11-02T10:15:03.123456Z',
        grower: { externalId: null, name: null, email: null },
        remediation: expect.stringContaining('reconnect Panorama') as string,
        evidence: {
          eventId: 'ex-002',
          statusCode: 400,
          excerpt: '{"__type": "NotAuthorizedException", "message": "Refresh Token has expired"}',
        },
      },
    });
  });

  it('takes category and action from the transition for a recovery', () => {
    const data = (
      JSON.parse(
        buildWebhookBody({ ...transition, from: 'cognito_token_expired', to: 'healthy', action: 'none' }, 'credential.recovered', 0),
      ) as { data: Record<string, unknown> }
    ).data;
    expect(data).toMatchObject({ category: 'healthy', previousCategory: 'cognito_token_expired', action: 'none' });
  });

  it('redacts secrets left in the excerpt again', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLWJ5dGVz';
    const body = buildWebhookBody(
      {
        ...transition,
        evidence: { ...transition.evidence, excerpt: `{"refreshToken": "abc123secret", "id": "${jwt}", "password": "hunter2"}` },
      },
      'credential.action_required',
      0,
    );
    expect(body).not.toContain('abc123secret');
    expect(body).not.toContain(jwt);
    expect(body).not.toContain('hunter2');
    expect(body).toContain('[REDACTED]');
  });

  it('stays under 8 KiB by shortening the excerpt', () => {
    const huge = 'é '.repeat(20_000);
    const body = buildWebhookBody({ ...transition, evidence: { ...transition.evidence, excerpt: huge } }, 'credential.action_required', 0);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_BODY_BYTES);
    expect((JSON.parse(body) as { data: { evidence: { excerpt: string } } }).data.evidence.excerpt.length).toBeGreaterThan(0);
    const longIds = {
      ...transition,
      leafUserId: 'u'.repeat(4000),
      credentialId: 'c'.repeat(3000),
      evidence: { ...transition.evidence, excerpt: 'x '.repeat(400) },
    };
    const shortened = buildWebhookBody(longIds, 'credential.action_required', 0);
    expect(Buffer.byteLength(shortened)).toBeLessThanOrEqual(MAX_BODY_BYTES);
    expect(() => buildWebhookBody({ ...longIds, leafUserId: 'u'.repeat(9000) }, 'credential.action_required', 0)).toThrow(
      /exceeds 8192 bytes/,
    );
  });

  it('names the grower (externalId, name, email), and leaves the email out when configured to', () => {
    const withGrower = { ...transition, grower: { externalId: 'crm-17', name: 'Ada Farms', email: 'ada@example-farms.com' } };
    const data = (JSON.parse(buildWebhookBody(withGrower, 'credential.action_required', 0)) as { data: Record<string, unknown> }).data;
    expect(data['grower']).toEqual({ externalId: 'crm-17', name: 'Ada Farms', email: 'ada@example-farms.com' });
    const body = buildWebhookBody(withGrower, 'credential.action_required', 0, { includeEmail: false });
    expect((JSON.parse(body) as { data: Record<string, unknown> }).data['grower']).toEqual({ externalId: 'crm-17', name: 'Ada Farms' });
    expect(body).not.toContain('ada@example-farms.com');
  });
});
