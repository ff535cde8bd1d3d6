import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { RULES_FILE, requireBinary, shortenedRules } from '../helpers/prom-stack.js';

type Groups = { groups: Array<{ name: string; rules: Array<Record<string, unknown>> }> };

describe('prom-stack helpers', () => {
  it('shortenedRules changes every alert for: and nothing else', () => {
    const original = parse(readFileSync(RULES_FILE, 'utf8')) as Groups;
    const copy = parse(shortenedRules(readFileSync(RULES_FILE, 'utf8'), '2s')) as Groups;
    const alertsWithFor = copy.groups.flatMap((g) => g.rules).filter((r) => r['for'] !== undefined);
    expect(alertsWithFor.length).toBeGreaterThan(10);
    expect(alertsWithFor.every((r) => r['for'] === '2s')).toBe(true);
    const withoutFor = (doc: Groups) => doc.groups.map((g) => ({ ...g, rules: g.rules.map(({ for: _for, ...rest }) => rest) }));
    expect(withoutFor(copy)).toEqual(withoutFor(original));
  });

  it('requireBinary fails loudly, naming the Debian package, when a binary is missing', () => {
    const path = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      expect(() => requireBinary('promtool')).toThrow('promtool not found on PATH: install the Debian package "prometheus"');
      expect(() => requireBinary('alertmanager', 'prometheus-alertmanager')).toThrow(
        /alertmanager or prometheus-alertmanager .*"prometheus-alertmanager"/,
      );
      expect(() => requireBinary('docker-compose')).toThrow('apt-get install -y docker-compose');
    } finally {
      process.env['PATH'] = path;
    }
    expect(requireBinary('node-missing-here', 'promtool')).toMatch(/promtool$/);
  });
});
