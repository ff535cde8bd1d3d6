import { describe, expect, it } from 'vitest';
import { createClassifier, normalizeEvent, parseRules } from '../src/classify/index.js';
import { eventSignature, isFallbackRule, messageTemplate } from '../src/classify/event-signature.js';
import { humanizeCode } from '../src/classify/humanize-code.js';
import { suggestRule, templatePattern } from '../src/classify/suggest-rule.js';
import { inboxSightings } from '../src/monitor/inbox-sightings.js';
import { changedRuleIds } from '../src/monitor/rules-reloader.js';

const event = (statusCode: number, body: unknown, id = 'e1') =>
  normalizeEvent({ id, statusCode, body: typeof body === 'string' ? body : JSON.stringify(body), createdDate: '2026-11-30T10:00:00Z' });

describe('humanizeCode', () => {
  it('reads snake, camel, kebab, upper and Pascal codes as the same words', () => {
    const words = [
      'invalid_organization_code',
      'invalidOrganizationCode',
      'INVALID_ORGANIZATION_CODE',
      'invalid-organization-code',
      'InvalidOrganizationCode',
    ].map(humanizeCode);
    expect(new Set(words)).toEqual(new Set(['invalid organization code']));
    expect(humanizeCode('ORGNotShared')).toBe('org not shared');
  });
});

describe('event signatures', () => {
  it('mask ids, numbers, dates, e-mails and quoted values, so one wording is one signature', () => {
    const a = eventSignature(
      event(403, { message: 'Farm 8812 of grower jane@example.com paused since 2026-11-03T10:00:00Z ("north field")' }),
    );
    const b = eventSignature(event(403, { message: 'Farm 17 of grower bob@example.org paused since 2026-10-01T08:30:00Z ("south")' }));
    expect(a.id).toBe(b.id);
    expect(a.template).toBe('Farm <n> of grower <email> paused since <date> (<value>)');
    expect(eventSignature(event(404, { message: 'Farm 1 of grower x@y.io paused since 2026-01-01 ("a")' })).id).not.toBe(a.id);
  });

  it('use the code and never keep a token', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnopqrstuvwxyz123456';
    const s = eventSignature(event(400, { error: 'consent_pending', error_description: `bearer ${jwt} refused` }));
    expect(s.code).toBe('consent_pending');
    expect(s.template).not.toContain('eyJ');
    expect(messageTemplate('x'.repeat(400)).length).toBeLessThanOrEqual(160);
  });

  it('only fallback verdicts go to the inbox', () => {
    expect(isFallbackRule('fallback.unclassified')).toBe(true);
    expect(isFallbackRule('permission.status-403-generic')).toBe(true);
    expect(isFallbackRule('org.not-found')).toBe(false);
    const e = event(418, 'teapot');
    const sightings = inboxSightings(
      [
        { event: e, category: 'unclassified', ruleId: 'fallback.unclassified' },
        { event: e, category: 'wrong_organization_code', ruleId: 'org.not-found' },
      ],
      { provider: 'panorama', leafUserId: 'u1', atMs: 0 },
    );
    expect(sightings).toHaveLength(1);
    expect(sightings[0]).toMatchObject({ eventId: 'e1', sample: 'teapot', ruleId: 'fallback.unclassified' });
  });
});

describe('suggestRule', () => {
  it('builds a rule the loader accepts that matches the signature, other instances of it, and nothing else', () => {
    const first = event(403, { errorKey: 'consentPending', detail: 'Consent for farm 8812 pending since 2026-11-03' });
    const sig = eventSignature(first);
    const { entry, rule } = suggestRule(sig, 'missing_permission');
    expect(() => parseRules([entry], 'x')).not.toThrow();
    const classifier = createClassifier({ extraRules: [rule] });
    expect(classifier.classifyEvent(first, { clientEnvironment: undefined }).ruleId).toBe(entry.id);
    const other = event(403, { errorKey: 'consentPending', detail: 'Consent for farm 17 pending since 2025-01-30' }, 'e2');
    expect(classifier.classifyEvent(other, { clientEnvironment: undefined })).toMatchObject({
      category: 'missing_permission',
      ruleId: entry.id,
    });
    // A different status, or a different wording, is not captured.
    expect(
      classifier.classifyEvent(event(400, { detail: 'Consent for farm 1 pending since 2026-11-03' }), { clientEnvironment: undefined })
        .ruleId,
    ).not.toBe(entry.id);
    expect(classifier.classifyEvent(event(403, { detail: 'Something else entirely' }), { clientEnvironment: undefined }).ruleId).not.toBe(
      entry.id,
    );
  });

  it('escapes regular-expression characters of the message and the code', () => {
    expect(new RegExp(templatePattern('a.b (c)? <n> [d]'), 'i').test('a.b (c)? 42 [d]')).toBe(true);
    expect(new RegExp(templatePattern('a.b'), 'i').test('axb')).toBe(false);
    const { rule } = suggestRule({ id: 'abc123abc123', statusCode: 400, code: 'err.code+x', template: '' }, 'unclassified');
    expect(rule.match.text?.[0]?.test('{"error":"err.code+x"}')).toBe(true);
    expect(rule.match.text?.[0]?.test('{"error":"errXcode+x"}')).toBe(false);
  });
});

describe('changedRuleIds', () => {
  it('lists added, removed and changed operator rules only', () => {
    const before = parseRules(
      [
        { id: 'keep', category: 'unclassified', reason: 'r', match: { status: [418] } },
        { id: 'edit', category: 'unclassified', reason: 'r', match: { message: ['x'] } },
        { id: 'gone', category: 'unclassified', reason: 'r', match: { status: [419] } },
      ],
      'a',
    );
    const after = parseRules(
      [
        { id: 'keep', category: 'unclassified', reason: 'r', match: { status: [418] } },
        { id: 'edit', category: 'missing_permission', reason: 'r', match: { message: ['x'] } },
        { id: 'new', category: 'unclassified', reason: 'r', match: { status: [420] } },
      ],
      'b',
    );
    expect(changedRuleIds(before, after)).toEqual(['edit', 'gone', 'new']);
    expect(changedRuleIds(after, after)).toEqual([]);
  });
});
