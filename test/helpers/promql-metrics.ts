import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * Finds the metric names a PromQL expression selects, so dashboards and rules can be checked against
 * what credwatch exports. A small lexer, not a full parser: it skips strings, label matchers, ranges,
 * Grafana variables (`$x`, `${x}`, `[[x]]`), numbers and durations, function and aggregation names and the
 * label lists of `by`/`without`/`on`/`ignoring`/`group_left`/`group_right`.
 */

const AGGREGATIONS_AND_KEYWORDS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
  'and',
  'or',
  'unless',
  'atan2',
  'bool',
  'offset',
  'inf',
  'nan',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'start',
  'end',
]);
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const IDENT_START = /[A-Za-z_:]/;
const IDENT_PART = /[A-Za-z0-9_:]/;

/** Index just past the string literal starting at `start` (quote included). */
function skipString(expr: string, start: number): number {
  const quote = expr[start];
  let i = start + 1;
  while (i < expr.length && expr[i] !== quote) i += quote !== '`' && expr[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** Index just past the bracket group opened at `start`, skipping strings inside it. */
function skipGroup(expr: string, start: number, open: string, close: string): number {
  let depth = 0;
  let i = start;
  while (i < expr.length) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
      continue;
    }
    if (c === open) depth += 1;
    else if (c === close) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
    i += 1;
  }
  throw new Error(`unbalanced "${open}" at ${start} in PromQL: ${expr}`);
}

function nextNonSpace(expr: string, from: number): number {
  let i = from;
  while (i < expr.length && /\s/.test(expr[i] ?? '')) i += 1;
  return i;
}

/** Every metric name the expression selects (recording-rule names included), in order, without duplicates. */
export function promqlMetricNames(expr: string): string[] {
  const names: string[] = [];
  const add = (name: string) => {
    if (!names.includes(name)) names.push(name);
  };
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] ?? '';
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i += 1;
    } else if (c === '{') {
      const end = skipGroup(expr, i, '{', '}');
      const byName = /__name__\s*=\s*["']([A-Za-z_:][A-Za-z0-9_:]*)["']/.exec(expr.slice(i, end));
      if (byName?.[1] !== undefined) add(byName[1]);
      i = end;
    } else if (c === '[' && expr[i + 1] === '[') {
      i = expr.indexOf(']]', i) + 2; // Grafana's old [[variable]] syntax
      if (i < 2) throw new Error(`unterminated [[ in PromQL: ${expr}`);
    } else if (c === '[') {
      i = skipGroup(expr, i, '[', ']');
    } else if (c === '$') {
      i += 1;
      if (expr[i] === '{') i = skipGroup(expr, i, '{', '}');
      else while (i < expr.length && IDENT_PART.test(expr[i] ?? '')) i += 1;
    } else if (/[0-9.]/.test(c)) {
      while (i < expr.length && /[A-Za-z0-9_.]/.test(expr[i] ?? '')) i += 1; // numbers, 1e3, 0x1f, 1h30m
    } else if (IDENT_START.test(c)) {
      const start = i;
      while (i < expr.length && IDENT_PART.test(expr[i] ?? '')) i += 1;
      const word = expr.slice(start, i);
      const after = nextNonSpace(expr, i);
      if (LABEL_LIST_KEYWORDS.has(word)) {
        if (expr[after] === '(') i = skipGroup(expr, after, '(', ')');
      } else if (!AGGREGATIONS_AND_KEYWORDS.has(word) && expr[after] !== '(') {
        add(word);
      }
    } else {
      i += 1;
    }
  }
  return names;
}

/** True for names of recording rules, which by convention contain a colon (`level:metric:operations`). */
export function isRecordingRuleName(name: string): boolean {
  return name.includes(':');
}

/** Metric name to type (`counter`, `gauge`, `histogram`, ...) from the `# TYPE` lines of an exposition. */
export function exposedMetricTypes(exposition: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (match[1] !== undefined && match[2] !== undefined) types.set(match[1], match[2]);
  }
  return types;
}

/**
 * True when `name` is exposed: by its own name, or as the `_bucket`/`_sum`/`_count` series of an exposed
 * histogram (`_sum`/`_count` also of a summary).
 */
export function isExposed(name: string, types: ReadonlyMap<string, string>): boolean {
  if (types.has(name)) return true;
  const match = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (!match || match[1] === undefined) return false;
  const type = types.get(match[1]);
  return type === 'histogram' || (type === 'summary' && match[2] !== 'bucket');
}

/** One PromQL expression shipped in a dashboard or the rules file, and where it is. */
export interface ShippedExpression {
  where: string;
  expr: string;
}

function panelsOf(panels: unknown): Array<Record<string, unknown>> {
  if (!Array.isArray(panels)) return [];
  return panels.flatMap((p: Record<string, unknown>) => [p, ...panelsOf(p['panels'])]);
}

/**
 * Every PromQL expression of `grafana/dashboards/*.json` (panel targets and query-variable definitions) and
 * of `prometheus/rules/credwatch.rules.yml`, for checks against what credwatch exports.
 */
export function shippedExpressions(repoRoot: string): ShippedExpression[] {
  const out: ShippedExpression[] = [];
  const dir = join(repoRoot, 'grafana', 'dashboards');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const dashboard = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      panels?: unknown;
      templating?: { list?: Array<Record<string, unknown>> };
    };
    for (const panel of panelsOf(dashboard.panels)) {
      const targets = Array.isArray(panel['targets']) ? (panel['targets'] as Array<Record<string, unknown>>) : [];
      for (const t of targets)
        if (typeof t['expr'] === 'string') out.push({ where: `${file} panel "${String(panel['title'])}"`, expr: t['expr'] });
    }
    for (const v of dashboard.templating?.list ?? []) {
      if (v['type'] === 'query' && typeof v['definition'] === 'string')
        out.push({ where: `${file} variable ${String(v['name'])}`, expr: v['definition'] });
    }
  }
  const rules = parse(readFileSync(join(repoRoot, 'prometheus', 'rules', 'credwatch.rules.yml'), 'utf8')) as {
    groups: Array<{ rules: Array<{ record?: string; alert?: string; expr: string }> }>;
  };
  for (const group of rules.groups) for (const r of group.rules) out.push({ where: `rule ${r.record ?? r.alert}`, expr: r.expr });
  return out;
}

/** The `credwatch_*` metric names of the shipped expressions that `types` (an exposition) lacks. */
export function missingCredwatchMetrics(expressions: readonly ShippedExpression[], types: ReadonlyMap<string, string>): string[] {
  const missing: string[] = [];
  for (const { where, expr } of expressions) {
    for (const name of promqlMetricNames(expr)) {
      if (name.startsWith('credwatch_') && !isRecordingRuleName(name) && !isExposed(name, types)) missing.push(`${where}: ${name}`);
    }
  }
  return missing;
}
