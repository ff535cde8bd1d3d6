import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILTIN_RULES, createClassifier } from '../src/classify/index.js';
import { loadRulesFile, parseRules } from '../src/classify/rules-file.js';
import { CredwatchError, isCredwatchError } from '../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'credwatch-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function rulesError(path: string): Promise<CredwatchError> {
  const error: unknown = await loadRulesFile(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof CredwatchError)) throw new Error(`expected a CredwatchError, got ${String(error)}`);
  expect(error.code).toBe('RULES_INVALID');
  expect(error.message).not.toContain('\n');
  return error;
}

const YAML = `rules:
  - id: acme.teapot
    category: provider_unavailable
    reason: the provider's teapot is brewing
    match:
      status: [418, "5xx", "420-421"]
      message: ["teapot", "brew(ing)?"]
  - id: acme.sso-expired
    category: cognito_token_expired
    reason: the SSO session ended
    match:
      type: ["^SsoSessionExpired$"]
  - id: acme.env-header
    category: environment_mismatch
    reason: the gateway says the tenant is elsewhere
    match:
      header: ["x-tenant-env: *sandbox"]
      hostHint: other-environment
`;

const JSON_RULES = JSON.stringify([
  {
    id: 'acme.custom-org',
    category: 'wrong_organization_code',
    reason: 'farm id unknown',
    match: { status: [400], error: ['^farm_unknown$'], text: ['farm'] },
  },
]);

describe('loadRulesFile', () => {
  it('reads YAML and JSON, and compiles patterns case-insensitively', async () => {
    const yaml = await loadRulesFile(file('rules.yaml', YAML));
    expect(yaml.map((r) => r.id)).toEqual(['acme.teapot', 'acme.sso-expired', 'acme.env-header']);
    expect(yaml[0]?.match.status).toEqual([418, [500, 599], [420, 421]]);
    expect(yaml[0]?.match.message?.[0]?.test('TEAPOT')).toBe(true);
    expect(yaml[2]?.match.hostHint).toBe('other-environment');
    const json = await loadRulesFile(file('rules.json', JSON_RULES));
    expect(json[0]).toMatchObject({ id: 'acme.custom-org', category: 'wrong_organization_code' });
    // A bare list in YAML, and a file with another extension holding JSON.
    expect(await loadRulesFile(file('list.yml', '- {id: a.b, category: healthy, reason: r, match: {status: [299]}}\n'))).toHaveLength(1);
    expect(await loadRulesFile(file('rules.conf', JSON_RULES))).toHaveLength(1);
  });

  it('applies operator rules before the built-in ones', async () => {
    const classifier = createClassifier({ extraRules: await loadRulesFile(file('r.yaml', YAML)) });
    expect(classifier.rules.length).toBe(BUILTIN_RULES.length + 3);
    const teapot = classifier.classifyEvent({ id: 't', statusCode: 418, body: "I'm a TEAPOT" }, { clientEnvironment: 'PRODUCTION' });
    expect(teapot).toMatchObject({ category: 'provider_unavailable', ruleId: 'acme.teapot', reason: "the provider's teapot is brewing" });
    const sso = classifier.classifyEvent(
      { id: 's', statusCode: 400, body: '{"__type":"com.acme#SsoSessionExpired"}' },
      { clientEnvironment: 'STAGE' },
    );
    expect(sso).toMatchObject({ category: 'cognito_token_expired', ruleId: 'acme.sso-expired' });
    const env = classifier.classifyEvent(
      { id: 'h', statusCode: 401, headers: 'X-Tenant-Env: sandbox\nHost: api.bananorama.com', body: 'Unauthorized' },
      { clientEnvironment: 'PRODUCTION' },
    );
    expect(env.ruleId).toBe('acme.env-header');
    const assessed = classifier.assessCredential([{ id: 't', createdDate: '2026-11-02T10:00:00Z', statusCode: 418, body: 'teapot' }], {
      status: 'OK',
    });
    expect(assessed).toMatchObject({ category: 'provider_unavailable', ruleId: 'acme.teapot' });
    // Without operator rules the same event is unclassified.
    expect(createClassifier().classifyEvent({ id: 't', statusCode: 418, body: 'teapot' }, { clientEnvironment: undefined }).ruleId).toBe(
      'fallback.unclassified',
    );
  });

  const invalid: Array<[string, string, string, RegExp]> = [
    [
      'an unknown category',
      'c.json',
      '[{"id":"x.y","category":"expired","reason":"r","match":{"status":[400]}}]',
      /rule 0 \(id "x\.y"\): category: expected one of healthy, cognito_token_expired/,
    ],
    [
      'a pattern that does not compile',
      'p.yaml',
      'rules:\n  - {id: ok.one, category: healthy, reason: r, match: {status: [200]}}\n  - {id: bad.regex, category: unclassified, reason: r, match: {message: ["(unclosed"]}}\n',
      /rule 1 \(id "bad\.regex"\): match\.message\[0\]: not a valid regular expression/,
    ],
    [
      'a rule without conditions',
      'e.json',
      '[{"id":"a","category":"healthy","reason":"r","match":{}}]',
      /rule 0 \(id "a"\): match: expected at least one condition/,
    ],
    [
      'a misspelt field',
      'm.json',
      '[{"id":"a","category":"healthy","reason":"r","match":{"mesage":["x"]}}]',
      /rule 0 \(id "a"\): match: .*mesage/,
    ],
    ['a missing reason', 'r.json', '[{"id":"a","category":"healthy","match":{"status":[200]}}]', /rule 0 \(id "a"\): reason: /],
    [
      'a bad status',
      's.json',
      '[{"id":"a","category":"healthy","reason":"r","match":{"status":["6xx"]}}]',
      /rule 0 \(id "a"\): match\.status\[0\]: /,
    ],
    [
      'a duplicate id',
      'd.json',
      '[{"id":"a","category":"healthy","reason":"r","match":{"status":[200]}},{"id":"a","category":"healthy","reason":"r","match":{"status":[201]}}]',
      /rule 1 \(id "a"\): id: "a" is already used by an earlier rule/,
    ],
    [
      'an id of a built-in rule',
      'b.json',
      '[{"id":"token.expired","category":"healthy","reason":"r","match":{"status":[200]}}]',
      /rule 0 \(id "token\.expired"\): id: .* built-in rule/,
    ],
    [
      'a rule that is not an object',
      'n.json',
      '[{"id":"a","category":"healthy","reason":"r","match":{"status":[200]}}, 7]',
      /rule 1: \(rule\): /,
    ],
    [
      'an unknown hostHint',
      'h.json',
      '[{"id":"a","category":"healthy","reason":"r","match":{"hostHint":"elsewhere"}}]',
      /rule 0 \(id "a"\): match\.hostHint: /,
    ],
    ['a file that is not a list', 'o.json', '{"id":"a"}', /expected a list of rules, or an object with a "rules" list/],
    ['invalid JSON', 'j.json', '[{"id": ', /not valid JSON/],
    ['invalid YAML', 'y.yaml', 'rules: [\n  - id: a\n', /not valid YAML/],
  ];
  it.each(invalid)('rejects %s, naming the file, the rule and the field', async (_name, name, content, message) => {
    const error = await rulesError(file(name, content));
    expect(error.message).toContain(join(dir, name));
    expect(error.message).toMatch(message);
  });

  it('names every problem of a file in one line', async () => {
    const error = await rulesError(file('many.json', '[{"id":"a","category":"x","reason":"","match":{}}]'));
    expect(error.message).toMatch(/and \d+ more: /);
  });

  it('rejects an unreadable file', async () => {
    const error = await rulesError(join(dir, 'nope.yaml'));
    expect(error.message).toBe(`rules file ${join(dir, 'nope.yaml')}: cannot be read (ENOENT)`);
    expect(isCredwatchError(error, 'RULES_INVALID')).toBe(true);
  });

  it('parseRules validates data already parsed', () => {
    expect(parseRules({ rules: [] }, 'inline')).toEqual([]);
    expect(() => parseRules('x', 'inline')).toThrow(/rules file inline: expected a list of rules/);
  });
});
