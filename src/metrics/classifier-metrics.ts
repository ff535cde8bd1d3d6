import { Counter, Gauge, type Registry } from 'prom-client';

/** Outcomes of a rules reload (bounded label). */
export const RULES_RELOAD_OUTCOMES = ['reloaded', 'unchanged', 'refused'] as const;

/** The classifier's operational metrics: the unclassified inbox and rules reloads. */
export interface ClassifierMetrics {
  rulesReloads: Counter<'outcome'>;
  operatorRules: Gauge;
}

/** Registers the classifier metrics on `registry`; `inboxSize` is read at scrape time (shared Redis state). */
export function createClassifierMetrics(registry: Registry, sources: { inboxSize: () => Promise<number> }): ClassifierMetrics {
  new Gauge({
    name: 'credwatch_unclassified_signatures',
    help: 'Distinct signatures in the unclassified inbox (failures no specific rule recognises); see GET /api/unclassified.',
    registers: [registry],
    async collect() {
      this.set(await sources.inboxSize());
    },
  });
  const rulesReloads = new Counter({
    name: 'credwatch_rules_reloads_total',
    help: 'Reloads of CREDWATCH_RULES_FILE by outcome (reloaded, unchanged, refused: a bad file keeps the rules in force).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const outcome of RULES_RELOAD_OUTCOMES) rulesReloads.inc({ outcome }, 0);
  const operatorRules = new Gauge({
    name: 'credwatch_rules_operator_rules',
    help: 'Operator rules in force from CREDWATCH_RULES_FILE.',
    registers: [registry],
  });
  return { rulesReloads, operatorRules };
}
