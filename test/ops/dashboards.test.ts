import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/metrics.js';
import { REPO_ROOT, RULES_FILE } from '../helpers/prom-stack.js';
import {
  exposedMetricTypes,
  isExposed,
  isRecordingRuleName,
  missingCredwatchMetrics,
  promqlMetricNames,
  shippedExpressions,
} from '../helpers/promql-metrics.js';

interface Target {
  expr?: string;
  datasource?: unknown;
}
interface Panel {
  id?: unknown;
  type?: string;
  title?: string;
  description?: string;
  datasource?: unknown;
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: unknown;
  panels?: Panel[];
  templating?: { list?: Array<{ name: string; type: string; query?: unknown; datasource?: unknown; definition?: string }> };
}

const DASHBOARD_DIR = join(REPO_ROOT, 'grafana', 'dashboards');
const DATASOURCE_VARIABLE = { type: 'prometheus', uid: '${datasource}' };
const dashboards = readdirSync(DASHBOARD_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, json: JSON.parse(readFileSync(join(DASHBOARD_DIR, file), 'utf8')) as Dashboard }));

function allPanels(panels: Panel[] = []): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels)]);
}

const rules = parse(readFileSync(RULES_FILE, 'utf8')) as {
  groups: Array<{ rules: Array<{ record?: string; alert?: string; expr: string }> }>;
};
const recordedNames = new Set(rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.record === undefined ? [] : [r.record]))));

const allExpressions = () => shippedExpressions(REPO_ROOT);

describe('Grafana dashboards', () => {
  it('finds the overview dashboard', () => {
    expect(dashboards.map((d) => d.file)).toContain('credwatch-overview.json');
  });

  it.each(dashboards)('$file has a fixed uid, a title and a schemaVersion', ({ json }) => {
    expect(json.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(json.title).toBeTruthy();
    expect(typeof json.schemaVersion).toBe('number');
    expect(json.schemaVersion as number).toBeGreaterThanOrEqual(36);
  });

  it('uids are unique across dashboards', () => {
    const uids = dashboards.map((d) => d.json.uid);
    expect(new Set(uids).size).toBe(uids.length);
  });

  it.each(dashboards)('$file: panel ids are unique integers and every panel has a description', ({ json }) => {
    const panels = allPanels(json.panels);
    expect(panels.length).toBeGreaterThan(0);
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(panels.filter((p) => (p.description ?? '').trim().length < 10).map((p) => p.title)).toEqual([]);
  });

  it.each(dashboards)('$file: panels fit the 24-column grid without overlapping', ({ json }) => {
    const boxes = allPanels(json.panels).map((p) => ({ title: p.title, g: p.gridPos }));
    expect(boxes.filter((b) => b.g === undefined || b.g.x < 0 || b.g.w < 1 || b.g.x + b.g.w > 24).map((b) => b.title)).toEqual([]);
    const overlaps: string[] = [];
    boxes.forEach((a, i) =>
      boxes.slice(i + 1).forEach((b) => {
        if (!a.g || !b.g) return;
        const apart = a.g.x + a.g.w <= b.g.x || b.g.x + b.g.w <= a.g.x || a.g.y + a.g.h <= b.g.y || b.g.y + b.g.h <= a.g.y;
        if (!apart) overlaps.push(`${a.title} / ${b.title}`);
      }),
    );
    expect(overlaps).toEqual([]);
  });

  it.each(dashboards)('$file: template variables datasource, provider and instance exist', ({ json }) => {
    const vars = new Map((json.templating?.list ?? []).map((v) => [v.name, v]));
    expect(vars.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['provider', 'instance']) {
      expect(vars.get(name)).toMatchObject({ type: 'query', datasource: DATASOURCE_VARIABLE });
    }
  });

  it.each(dashboards)('$file: every query panel and target uses the ${datasource} variable', ({ json }) => {
    const wrong: string[] = [];
    for (const panel of allPanels(json.panels)) {
      if (panel.type === 'row') continue; // rows hold no queries
      if ((panel.targets ?? []).length === 0) wrong.push(`${panel.title}: no targets`);
      if (JSON.stringify(panel.datasource) !== JSON.stringify(DATASOURCE_VARIABLE)) wrong.push(`${panel.title}: panel datasource`);
      for (const t of panel.targets ?? []) {
        if (JSON.stringify(t.datasource) !== JSON.stringify(DATASOURCE_VARIABLE)) wrong.push(`${panel.title}: target datasource`);
        if ((t.expr ?? '').trim() === '') wrong.push(`${panel.title}: empty expr`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it.each(dashboards)('$file: filters credwatch series by the instance variable', ({ json }) => {
    const unfiltered = allPanels(json.panels)
      .flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr ?? '' })))
      .filter((t) => /credwatch_[a-z_]+(\{|\[|\))/.test(t.expr) && !t.expr.includes('$instance'))
      .map((t) => t.title);
    expect(unfiltered).toEqual([]);
  });
});

describe('metric names used by dashboards and rules', () => {
  let types: Map<string, string>;

  beforeAll(async () => {
    const metrics = createMetrics(new Registry(), { providers: ['panorama'], endpoints: ['demo'], version: '0.0.0-test' });
    metrics.setScrapeSources({
      credentialCounts: async () => [{ provider: 'panorama', category: 'healthy', count: 1 }],
      oldestPollAges: async () => [{ provider: 'panorama', ageSeconds: 1 }],
      lastSweepSuccess: async () => 1,
      queueCounts: async () => [{ queue: 'poll', state: 'waiting', count: 1 }],
      deadLetters: async () => [{ endpoint: 'demo', count: 1 }],
    });
    types = exposedMetricTypes(await metrics.registry.metrics());
  });

  it('finds expressions to check', () => {
    expect(allExpressions().length).toBeGreaterThan(40);
  });

  it('every credwatch_* metric named in a PromQL expression is exported by createMetrics', () => {
    expect(missingCredwatchMetrics(allExpressions(), types)).toEqual([]);
  });

  it('every recording-rule name used is recorded by the rules file', () => {
    const unknown: string[] = [];
    for (const { where, expr } of allExpressions()) {
      for (const name of promqlMetricNames(expr))
        if (isRecordingRuleName(name) && !recordedNames.has(name)) unknown.push(`${where}: ${name}`);
    }
    expect(unknown).toEqual([]);
  });

  it('the check itself catches a renamed metric', () => {
    expect(isExposed('credwatch_credentials', types)).toBe(true);
    expect(isExposed('credwatch_credential', types)).toBe(false);
    expect(isExposed('credwatch_leaf_request_duration_seconds_bucket', types)).toBe(true);
  });
});
