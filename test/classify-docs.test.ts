import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { BUILTIN_RULES, createClassifier, namesOtherEnvironment, parseRules } from '../src/classify/index.js';
import { CredwatchError } from '../src/errors.js';

const doc = readFileSync(new URL('../docs/classifier.md', import.meta.url), 'utf8');
const block = (lang: string, index = 0): string => {
  const blocks = [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] ?? '');
  const found = blocks[index];
  if (found === undefined) throw new Error(`docs/classifier.md has no ${lang} block #${index}`);
  return found;
};

describe('docs/classifier.md', () => {
  it('lists every built-in rule, in order, with its category', () => {
    const rows = [...doc.matchAll(/^\| (\d+) \| `([^`]+)` \| ([a-z_]+) \|/gm)].map((m) => [Number(m[1]), m[2], m[3]]);
    expect(rows).toEqual(BUILTIN_RULES.map((r, i) => [i + 1, r.id, r.category]));
  });

  it('has example rules files that load and do what they say', () => {
    const yamlRules = parseRules(parseYaml(block('yaml')), 'docs.yaml');
    const jsonRules = parseRules(JSON.parse(block('json')), 'docs.json');
    const classifier = createClassifier({ extraRules: [...yamlRules, ...jsonRules] });
    const ctx = { clientEnvironment: 'PRODUCTION' as const };
    expect(classifier.classifyEvent({ statusCode: 401, body: '{"message":"SSO session has ended"}' }, ctx).ruleId).toBe(
      'acme.sso-session-ended',
    );
    expect(
      classifier.classifyEvent({ statusCode: 404, body: '<html><body>Scheduled maintenance until 6am</body></html>' }, ctx),
    ).toMatchObject({ ruleId: 'acme.maintenance-page', category: 'provider_unavailable' });
    expect(classifier.classifyEvent({ statusCode: '403', body: '{"error":"farm_unknown"}' }, ctx).ruleId).toBe('acme.farm-unknown');
  });

  it('shows the error a bad rules file really gives', () => {
    const data = parseYaml(block('yaml')) as { rules: Array<{ match: { text?: string[] } }> };
    const second = data.rules[1];
    if (second === undefined) throw new Error('the YAML example needs two rules');
    second.match.text = ['(unclosed'];
    const error = (() => {
      try {
        parseRules(data, 'rules.yaml');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CredwatchError);
    expect((error as CredwatchError).message).toBe(doc.split('\n').find((l) => l.startsWith('rules file rules.yaml:')));
  });

  it('describes the other-environment hint truthfully', () => {
    expect(namesOtherEnvironment('Host: api.bananorama.com', 'PRODUCTION')).toBe(true);
    expect(namesOtherEnvironment('see https://api.staging.example.com/x', 'PRODUCTION')).toBe(true);
    expect(namesOtherEnvironment('stage-api.example.io', 'PRODUCTION')).toBe(true);
    expect(namesOtherEnvironment('this is the Staging environment', 'PRODUCTION')).toBe(true);
    expect(namesOtherEnvironment('Host: api.panorama.ag', 'PRODUCTION')).toBe(false);
    expect(namesOtherEnvironment('at this stage the request failed', 'PRODUCTION')).toBe(false);
    expect(namesOtherEnvironment('Host: api.panorama.ag', 'STAGE')).toBe(true);
    expect(namesOtherEnvironment('Host: api.bananorama.ag', 'STAGE')).toBe(false);
    expect(namesOtherEnvironment('the production environment', 'STAGE')).toBe(true);
  });
});
