import { describe, expect, it } from 'vitest';
import { assessCredential, BUILTIN_RULES, type Rule } from '../src/classify/index.js';

const TOKEN = '{"__type":"NotAuthorizedException","message":"Refresh Token has expired"}';
const ORG = '{"message":"Organization not found"}';
const ENV = '{"__type":"UserNotFoundException","message":"User does not exist."}';
let seq = 0;
function ev(minute: number, statusCode: number | string, body = '', headers = ''): Record<string, unknown> {
  seq += 1;
  return { id: `e${seq}`, createdDate: `2026-11-02T10:${String(minute).padStart(2, '0')}:00.000Z`, statusCode, headers, body };
}
const at = (minute: number) => `2026-11-02T10:${String(minute).padStart(2, '0')}:00.000Z`;
const PROD = { status: 'OK', clientEnvironment: 'PRODUCTION' as const };

describe('assessCredential', () => {
  it('says not_connected when there is no credential, whatever the events', () => {
    const a = assessCredential([ev(1, 200)], null);
    expect(a).toMatchObject({ category: 'not_connected', action: 'connect', ruleId: 'credential.none', decidingEvent: null, since: '' });
  });

  it('says healthy with the "no events" rule when there are no events and the status is OK, missing or unknown', () => {
    for (const status of ['OK', undefined, 'SOMETHING_NEW']) {
      expect(assessCredential([], { status })).toMatchObject({ category: 'healthy', ruleId: 'assess.no-events', decidingEvent: null });
    }
  });

  it('uses the credential status as a witness when there are no events', () => {
    expect(assessCredential([], { status: 'UNAUTHENTICATED' })).toMatchObject({
      category: 'cognito_token_expired',
      ruleId: 'credential-status.unauthenticated',
    });
    expect(assessCredential([], { status: 'missing_permission' })).toMatchObject({
      category: 'missing_permission',
      ruleId: 'credential-status.missing-permission',
    });
    expect(assessCredential([], { status: 'TEMPORARILY_UNAVAILABLE' })).toMatchObject({
      category: 'provider_unavailable',
      ruleId: 'credential-status.temporarily-unavailable',
    });
  });

  it('lets the newest event decide', () => {
    expect(assessCredential([ev(1, 400, TOKEN), ev(2, 200)], PROD)).toMatchObject({ category: 'healthy', since: at(2) });
    expect(assessCredential([ev(1, 200), ev(2, 400, TOKEN)], PROD)).toMatchObject({ category: 'cognito_token_expired', since: at(2) });
    expect(assessCredential([ev(1, 400, TOKEN), ev(2, 404, ORG)], PROD)).toMatchObject({
      category: 'wrong_organization_code',
      since: at(2),
    });
  });

  it('sorts by createdDate and drops duplicate ids before deciding', () => {
    const newest = { id: 'n', createdDate: at(9), statusCode: 200, body: '' };
    const older = { id: 'o', createdDate: at(1), statusCode: 400, body: TOKEN };
    const a = assessCredential([newest, older, { ...older, id: 'n', createdDate: at(59) }], PROD);
    expect(a).toMatchObject({ category: 'healthy', since: at(9) });
    expect(a.decidingEvent?.id).toBe('n');
  });

  it('keeps a definitive failure when transient failures follow it', () => {
    const token = ev(1, 400, TOKEN);
    const a = assessCredential([ev(0, 200), token, ev(2, 503, '<html>503</html>'), ev(3, 429)], PROD);
    expect(a).toMatchObject({
      category: 'cognito_token_expired',
      action: 'reauthenticate',
      ruleId: 'token.cognito-refresh-expired',
      since: at(1),
    });
    expect(a.decidingEvent?.id).toBe(token['id']);
    expect(a.evidence).toMatchObject({ eventId: token['id'], statusCode: 400 });
  });

  it('counts the run of the deciding category from its oldest event, across interleaved transient failures', () => {
    const a = assessCredential([ev(0, 200), ev(1, 400, TOKEN), ev(2, 503), ev(3, 400, '{"error":"invalid_grant"}'), ev(4, 502)], PROD);
    expect(a).toMatchObject({ category: 'cognito_token_expired', ruleId: 'token.oauth-invalid-grant', since: at(1) });
  });

  it('says provider_unavailable when transient failures follow a success, an unclassified failure or nothing', () => {
    expect(assessCredential([ev(1, 200), ev(2, 503), ev(3, 504)], PROD)).toMatchObject({ category: 'provider_unavailable', since: at(2) });
    expect(assessCredential([ev(1, 418, 'teapot'), ev(2, 503)], PROD)).toMatchObject({ category: 'provider_unavailable', since: at(2) });
    expect(assessCredential([ev(1, 500), ev(2, 503)], PROD)).toMatchObject({ category: 'provider_unavailable', since: at(1) });
  });

  it('says healthy when a 2xx is newer than every failure, and counts the healthy run', () => {
    expect(assessCredential([ev(1, 400, TOKEN), ev(2, 503), ev(3, 200), ev(4, '204')], PROD)).toMatchObject({
      category: 'healthy',
      since: at(3),
      ruleId: 'status.2xx',
    });
  });

  it('treats the status as a second witness without hiding a definitive event', () => {
    // OK with a failing newest event: still failing.
    expect(assessCredential([ev(1, 200), ev(2, 404, ORG)], { status: 'OK' })).toMatchObject({ category: 'wrong_organization_code' });
    // UNAUTHENTICATED with only successes: token expired.
    expect(assessCredential([ev(1, 200), ev(2, 200)], { status: 'UNAUTHENTICATED' })).toMatchObject({
      category: 'cognito_token_expired',
      ruleId: 'credential-status.unauthenticated',
      decidingEvent: null,
    });
    // UNAUTHENTICATED after a transient failure: the re-auth is not hidden as transient.
    expect(assessCredential([ev(1, 503)], { status: 'UNAUTHENTICATED' })).toMatchObject({ category: 'cognito_token_expired' });
    // A more specific event wins over the status.
    expect(assessCredential([ev(1, 400, ENV)], { status: 'UNAUTHENTICATED' })).toMatchObject({ category: 'environment_mismatch' });
    expect(assessCredential([ev(1, 200), ev(2, 503)], { status: 'MISSING_PERMISSION' })).toMatchObject({ category: 'missing_permission' });
    expect(assessCredential([ev(1, 400, TOKEN)], { status: 'TEMPORARILY_UNAVAILABLE' })).toMatchObject({
      category: 'cognito_token_expired',
    });
    expect(assessCredential([ev(1, 200)], { status: 'TEMPORARILY_UNAVAILABLE' })).toMatchObject({ category: 'provider_unavailable' });
    expect(assessCredential([ev(1, 418)], { status: 'TEMPORARILY_UNAVAILABLE' })).toMatchObject({ category: 'provider_unavailable' });
    // Unknown status values are not errors.
    expect(assessCredential([ev(1, 200)], { status: 'SUSPENDED_BY_MARS' })).toMatchObject({ category: 'healthy' });
  });

  it("classifies with the credential's clientEnvironment", () => {
    const event = ev(1, 401, '{"message":"Unauthorized"}', 'Host: api.bananorama.com');
    expect(assessCredential([event], { clientEnvironment: 'PRODUCTION' })).toMatchObject({ category: 'environment_mismatch' });
    expect(assessCredential([event], { clientEnvironment: 'STAGE' })).toMatchObject({ category: 'cognito_token_expired' });
  });

  it('redacts the evidence of the deciding event', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0dXJl';
    const a = assessCredential(
      [
        ev(
          1,
          400,
          JSON.stringify({
            __type: 'NotAuthorizedException',
            message: 'Refresh Token has expired',
            refreshToken: 'abc.def-secret',
            token: jwt,
          }),
        ),
      ],
      PROD,
    );
    expect(a.category).toBe('cognito_token_expired');
    expect(a.evidence.excerpt).toContain('Refresh Token has expired');
    expect(a.evidence.excerpt).not.toContain('abc.def-secret');
    expect(a.evidence.excerpt).not.toContain(jwt);
  });

  it('stops walking back as soon as the verdict and its run are known', () => {
    let tested = 0;
    class CountingRegExp extends RegExp {
      override test(value: string): boolean {
        tested += 1;
        return super.test(value);
      }
    }
    const counter: Rule = {
      id: 'test.counter',
      category: 'unclassified',
      reason: 'never matches',
      match: { message: [new CountingRegExp('^never$')] },
    };
    const rules = [counter, ...BUILTIN_RULES];
    // 2000 distinct failures, then one token failure and a success: only the newest events are decided.
    const old = Array.from({ length: 2000 }, (_, i) => ({
      id: `old-${i}`,
      createdDate: at(0),
      statusCode: 400,
      body: `{"message":"odd failure ${i}"}`,
    }));
    const a = assessCredential([...old, ev(5, 400, TOKEN), ev(6, 200)], PROD, { rules });
    expect(a.category).toBe('healthy');
    expect(tested).toBeGreaterThan(0);
    expect(tested).toBeLessThan(10);

    // A run of 2000 identical failures must be walked to find `since`, but is decided once.
    tested = 0;
    const run = Array.from({ length: 2000 }, (_, i) => ({
      id: `run-${i}`,
      createdDate: at(i % 60),
      statusCode: 400,
      body: '{"message":"Organization not found"}',
    }));
    const b = assessCredential([ev(0, 200), ...run], PROD, { rules });
    expect(b).toMatchObject({ category: 'wrong_organization_code', since: at(0) });
    expect(tested).toBeLessThan(10);
  });
});
