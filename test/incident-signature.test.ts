import { describe, expect, it } from 'vitest';
import type { Category } from '../src/classify/categories.js';
import { failureSignature, likelyCause, messageTemplate } from '../src/incidents/failure-signature.js';

const sig = (category: Category, statusCode: number | null, excerpt: string) =>
  failureSignature({ category, evidence: { eventId: 'e1', statusCode, excerpt } });

describe('failureSignature', () => {
  it.each([
    [
      'Cognito, namespace prefix stripped',
      'cognito_token_expired',
      400,
      '{"__type":"com.amazonaws.cognito.identity.idp.model#NotAuthorizedException","message":"Incorrect username or password."}',
      'cognito_token_expired|400|notauthorizedexception|incorrect username or password.',
    ],
    [
      'client id masked',
      'environment_mismatch',
      400,
      '{"__type":"ResourceNotFoundException","message":"User pool client 3n4b5urk1ft4fl3mg5e62d9ado does not exist."}',
      'environment_mismatch|400|resourcenotfoundexception|user pool client <id> does not exist.',
    ],
    [
      'OAuth error and description',
      'cognito_token_expired',
      400,
      '{"error":"invalid_grant","error_description":"Token 8d2f0c1e9a7b expired at 2026-01-02T03:04:05Z"}',
      'cognito_token_expired|400|invalid_grant|token <hex> expired at <date>',
    ],
    [
      'UUID and numbers',
      'wrong_organization_code',
      404,
      '{"message":"Organization 123e4567-e89b-12d3-a456-426614174000 not found (request 42)"}',
      'wrong_organization_code|404|-|organization <uuid> not found (request <n>)',
    ],
    [
      'HTML answer uses its title',
      'provider_unavailable',
      503,
      '<html><head><title>503 Service Temporarily Unavailable</title></head></html>',
      'provider_unavailable|503|-|<n> service temporarily unavailable',
    ],
    [
      'plain text, region masked',
      'unclassified',
      418,
      'upstream us-east-1 said no after 1500ms',
      'unclassified|418|-|upstream <region> said no after <n>ms',
    ],
    ['no status code', 'unclassified', null, '', 'unclassified|-|-|'],
  ] as const)('%s', (_name, category, status, excerpt, text) => {
    expect(sig(category, status, excerpt).text).toBe(text);
  });

  it('gives the same id whatever the varying parts, and different ids for different causes', () => {
    const a = sig(
      'environment_mismatch',
      400,
      '{"__type":"ResourceNotFoundException","message":"User pool client 3n4b5urk1ft4fl3mg5e62d9ado does not exist."}',
    );
    const b = sig(
      'environment_mismatch',
      400,
      '{"__type":"ResourceNotFoundException","message":"User pool client 7q1z2x9c8v7b6n5m4l3k2j1h0g does not exist."}',
    );
    const c = sig(
      'environment_mismatch',
      403,
      '{"__type":"ResourceNotFoundException","message":"User pool client 7q1z2x9c8v7b6n5m4l3k2j1h0g does not exist."}',
    );
    expect(a.id).toBe(b.id);
    expect(a.id).not.toBe(c.id);
    expect(a.id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('never throws on a cut-off JSON body and keeps templates short', () => {
    expect(sig('unclassified', 500, '{"message":"cut off').template).toBe('{"message":"cut off');
    expect(messageTemplate('x'.repeat(500)).length).toBeLessThanOrEqual(160);
  });
});

describe('likelyCause', () => {
  it.each([
    ['cognito_token_expired', 400, 'notauthorizedexception', 'incorrect username or password.', /partner username or password/],
    ['environment_mismatch', 400, 'resourcenotfoundexception', 'user pool client <id> does not exist.', /app client/],
    ['provider_unavailable', 503, 'internalerrorexception', 'service unavailable.', /outage/],
    ['unclassified', 418, '', 'teapot', /Leaf-side regression/],
  ] as const)('%s %s %s', (category, statusCode, errorType, template, expected) => {
    expect(likelyCause({ category, statusCode, errorType, template })).toMatch(expected);
  });
});
