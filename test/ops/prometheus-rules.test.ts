import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ACTION_BY_CATEGORY, CATEGORIES } from '../../src/classify/categories.js';
import { REPO_ROOT, RULES_FILE, requireBinary, run } from '../helpers/prom-stack.js';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface AlertTest {
  alertname: string;
  exp_alerts?: unknown[];
}

const RULES_TEST_FILE = join(REPO_ROOT, 'prometheus', 'rules', 'credwatch.rules.test.yml');
const RUNBOOKS = join(REPO_ROOT, 'docs', 'runbooks.md');
const RUNBOOK_BASE = 'https://github.com/credwatch/credwatch/blob/main/docs/runbooks.md#';
const SEVERITIES = ['critical', 'warning', 'info'];

const rules = (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const alerts = rules.filter((r): r is Rule & { alert: string } => r.alert !== undefined);

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function runbookAnchors(): Set<string> {
  const text = readFileSync(RUNBOOKS, 'utf8');
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => githubAnchor(m[1] ?? '')));
}

describe('promtool', () => {
  const promtool = requireBinary('promtool');

  it('check rules accepts the rules file', { timeout: 30_000 }, async () => {
    const result = await run(promtool, ['check', 'rules', RULES_FILE]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('test rules passes every unit test', { timeout: 120_000 }, async () => {
    const result = await run(promtool, ['test', 'rules', RULES_TEST_FILE], { timeoutMs: 120_000 });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });

  it('check config accepts prometheus.yml and resolves its rule files', { timeout: 30_000 }, async () => {
    const result = await run(promtool, ['check', 'config', join(REPO_ROOT, 'prometheus', 'prometheus.yml')]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/SUCCESS: 1 rule files found/);
    expect(result.stdout).toContain('credwatch.rules.yml');
  });
});

describe('recording rules', () => {
  it('credwatch:credentials_needing_action:max maps categories to the actions of ACTION_BY_CATEGORY', () => {
    const expr = rules.find((r) => r.record === 'credwatch:credentials_needing_action:max')?.expr ?? '';
    const mapped = [...expr.matchAll(/"action",\s*"([a-z_]+)",\s*"category",\s*"([a-z_]+)"/g)].map((m) => [m[2], m[1]]);
    const expected = Object.entries(ACTION_BY_CATEGORY).filter(([, action]) => action !== 'none' && action !== 'wait');
    expect(Object.fromEntries(mapped)).toEqual(Object.fromEntries(expected));
    const selected = /category=~"([^"]+)"/.exec(expr)?.[1]?.split('|').sort();
    expect(selected).toEqual(expected.map(([category]) => category).sort());
  });
});

describe('alert rules', () => {
  it('defines the alerts the runbooks describe', () => {
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'CredwatchDown',
        'CredwatchNotScraped',
        'CredwatchPollsStale',
        'CredwatchLeafApiErrors',
        'CredwatchLeafAuthFailing',
        'CredwatchPollsFailing',
        'CredwatchLeafRateLimited',
        'CredwatchReauthSpike',
        'CredwatchEnvironmentMismatch',
        'CredwatchWrongOrganizationCode',
        'CredwatchUnclassifiedFailures',
        'CredwatchProviderUnavailable',
        'CredwatchWebhookDeliveriesFailing',
        'CredwatchWebhookDeadLetters',
        'CredwatchWebhookEndpointDisabled',
        'CredwatchWebhookEndpointFailing',
        'CredwatchQueueBacklogGrowing',
      ]),
    );
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
  });

  it.each(alerts)('$alert has summary, description, runbook_url and a valid severity', (rule) => {
    expect(rule.annotations?.['summary']?.trim()).toBeTruthy();
    expect(rule.annotations?.['description']?.trim()).toBeTruthy();
    expect(rule.annotations?.['runbook_url']).toBe(`${RUNBOOK_BASE}${rule.alert.toLowerCase()}`);
    expect(SEVERITIES).toContain(rule.labels?.['severity']);
    const category = rule.labels?.['category'];
    if (category !== undefined) expect(CATEGORIES as readonly string[]).toContain(category);
  });

  it('every runbook_url anchor exists in docs/runbooks.md, and every alert section names an alert', () => {
    const anchors = runbookAnchors();
    expect(alerts.map((a) => a.alert.toLowerCase()).filter((anchor) => !anchors.has(anchor))).toEqual([]);
    const sections = [...readFileSync(RUNBOOKS, 'utf8').matchAll(/^## (Credwatch\w+)\s*$/gm)].map((m) => m[1]);
    expect(sections.filter((s) => !alerts.some((a) => a.alert === s))).toEqual([]);
  });

  it('ProviderUnavailable reads the overdue count credwatch derives from CREDWATCH_PROVIDER_UNAVAILABLE_AFTER', () => {
    const rule = alerts.find((a) => a.alert === 'CredwatchProviderUnavailable');
    expect(rule?.expr).toContain('credwatch_provider_unavailable_overdue_credentials');
    // The duration is credwatch's configuration, not the rule's: the rule only debounces.
    expect(rule?.for).toBe('5m');
  });

  it('unit tests cover every alert firing and staying silent', () => {
    const doc = parse(readFileSync(RULES_TEST_FILE, 'utf8')) as { tests: Array<{ alert_rule_test?: AlertTest[] }> };
    const cases = doc.tests.flatMap((t) => t.alert_rule_test ?? []);
    const uncovered: string[] = [];
    for (const { alert } of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      if (!mine.some((c) => (c.exp_alerts ?? []).length > 0)) uncovered.push(`${alert}: no firing case`);
      if (!mine.some((c) => (c.exp_alerts ?? []).length === 0)) uncovered.push(`${alert}: no silent case`);
    }
    expect(uncovered).toEqual([]);
  });
});
