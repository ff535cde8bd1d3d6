import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ALERTMANAGER_FILE, RULES_FILE, requireBinary, run, testAlertmanagerConfig } from '../helpers/prom-stack.js';

interface AlertmanagerConfig {
  route: { receiver: string; group_by?: string[] };
  inhibit_rules?: Array<{ source_matchers?: string[]; target_matchers?: string[] }>;
  receivers: Array<{ name: string; webhook_configs?: Array<{ url: string; send_resolved?: boolean }> }>;
}

const config = parse(readFileSync(ALERTMANAGER_FILE, 'utf8')) as AlertmanagerConfig;
const alertRules = (
  parse(readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; labels?: Record<string, string> }> }> }
).groups
  .flatMap((g) => g.rules)
  .filter((r) => r.alert !== undefined);

describe('amtool', () => {
  const amtool = requireBinary('amtool');

  it('check-config accepts alertmanager.yml', { timeout: 30_000 }, async () => {
    const result = await run(amtool, ['check-config', ALERTMANAGER_FILE]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });

  it.each([
    ['critical', 'pager'],
    ['warning', 'team'],
    ['info', 'low-priority'],
    ['something-else', 'team'],
  ])('routes severity=%s to %s', { timeout: 30_000 }, async (severity, receiver) => {
    const result = await run(amtool, [
      'config',
      'routes',
      'test',
      `--config.file=${ALERTMANAGER_FILE}`,
      `--verify.receivers=${receiver}`,
      `severity=${severity}`,
      'alertname=Any',
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(receiver);
  });

  it('a wrong expectation makes amtool fail (the routing test can fail)', { timeout: 30_000 }, async () => {
    const result = await run(amtool, [
      'config',
      'routes',
      'test',
      `--config.file=${ALERTMANAGER_FILE}`,
      '--verify.receivers=pager',
      'severity=warning',
    ]);
    expect(result.code).not.toBe(0);
  });

  it.each(alertRules)('routes $alert by its severity', { timeout: 30_000 }, async (rule) => {
    const expected = { critical: 'pager', warning: 'team', info: 'low-priority' }[rule.labels?.['severity'] ?? ''];
    const labels = Object.entries({ alertname: rule.alert, ...rule.labels }).map(([k, v]) => `${k}=${v}`);
    const result = await run(amtool, [
      'config',
      'routes',
      'test',
      `--config.file=${ALERTMANAGER_FILE}`,
      `--verify.receivers=${expected}`,
      ...labels,
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });

  it('the loopback copy used by the end-to-end harness is valid too', { timeout: 30_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'credwatch-am-'));
    try {
      const file = join(dir, 'alertmanager.yml');
      writeFileSync(file, testAlertmanagerConfig(readFileSync(ALERTMANAGER_FILE, 'utf8'), 'http://127.0.0.1:9/hook'));
      const result = await run(amtool, ['check-config', file]);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const copy = parse(readFileSync(file, 'utf8')) as AlertmanagerConfig;
      expect(copy.receivers.map((r) => r.webhook_configs?.[0]?.url)).toEqual(
        config.receivers.map((r) => `http://127.0.0.1:9/hook/${r.name}`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('alertmanager.yml structure', () => {
  it('groups by alertname and category', () => {
    expect(config.route.group_by).toEqual(['alertname', 'category']);
  });

  it('inhibits warnings and info while CredwatchDown fires, and CredwatchDown itself is critical', () => {
    expect(config.inhibit_rules).toContainEqual({
      source_matchers: ['alertname="CredwatchDown"'],
      target_matchers: ['severity=~"warning|info"'],
    });
    expect(alertRules.find((r) => r.alert === 'CredwatchDown')?.labels?.['severity']).toBe('critical');
  });

  it('every receiver sends resolved notifications to the demo webhook receiver', () => {
    for (const receiver of config.receivers) {
      expect(receiver.webhook_configs?.[0]).toEqual({
        url: `http://webhook-receiver:9000/alertmanager/${receiver.name}`,
        send_resolved: true,
      });
    }
  });
});
