import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LEAF_OPERATIONS, STATUS_CLASSES } from '../src/core/leaf-operations.js';
import { DELIVERY_OUTCOMES, LEAF_ALERT_OUTCOMES, POLL_OUTCOMES, createMetrics } from '../src/metrics/metrics.js';

const docs = readFileSync(new URL('../docs/metrics.md', import.meta.url), 'utf8');
const docRow = (name: string): string => docs.split('\n').find((line) => line.startsWith(`| \`${name}\``)) ?? '';

/** Each bounded label: its metric, its label name and the one list its values come from. */
const BOUNDED: Array<{ metric: string; label: string; values: readonly string[]; inHelp?: boolean }> = [
  { metric: 'credwatch_leaf_alerts_total', label: 'outcome', values: LEAF_ALERT_OUTCOMES, inHelp: true },
  { metric: 'credwatch_polls_total', label: 'outcome', values: POLL_OUTCOMES },
  { metric: 'credwatch_webhook_deliveries_total', label: 'outcome', values: DELIVERY_OUTCOMES },
  { metric: 'credwatch_leaf_requests_total', label: 'operation', values: LEAF_OPERATIONS },
  { metric: 'credwatch_leaf_requests_total', label: 'status_class', values: STATUS_CLASSES },
];

describe('bounded metric labels', () => {
  const registry = new Registry();
  createMetrics(registry, { providers: ['panorama'], endpoints: ['app'], version: 'test', defaultMetrics: false });

  for (const { metric, label, values, inHelp } of BOUNDED) {
    it(`${metric}{${label}}: every value is zeroed at start and documented in docs/metrics.md`, async () => {
      const data = await registry.getSingleMetric(metric)?.get();
      expect(data, metric).toBeDefined();
      const zeroed = new Set(data?.values.map((v) => String(v.labels[label])));
      expect([...zeroed].sort()).toEqual([...values].sort());
      for (const value of values) {
        expect(docRow(metric), `docs/metrics.md row of ${metric} names ${value}`).toContain(`\`${value}\``);
        if (inHelp) expect(data?.help).toContain(value);
      }
    });
  }
});
