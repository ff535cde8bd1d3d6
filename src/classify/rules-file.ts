import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CredwatchError } from '../errors.js';
import { CATEGORIES } from './categories.js';
import { assessCredential } from './assess-credential.js';
import { classifyEvent, decideEvent, type Decision } from './classify-event.js';
import { BUILTIN_RULES, type Rule, type RuleMatch, type StatusSpec } from './rules.js';
import type { Assessment, Classification, ClassifyContext, CredentialEvent, CredentialSummary, RawCredentialEvent } from './types.js';

const ID = /^[a-z0-9][a-z0-9._-]{0,99}$/i;

const pattern = z
  .string()
  .min(1, 'expected a non-empty regular expression')
  .superRefine((source, ctx) => {
    try {
      new RegExp(source, 'i');
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression (${(error as Error).message})` });
    }
  });
const patterns = z.array(pattern).min(1, 'expected at least one pattern');

const statusSpec = z.union([
  z.number().int().min(100).max(599),
  z.string().regex(/^\s*(?:[1-5]xx|\d{3}\s*-\s*\d{3}|\d{3})\s*$/i, 'expected a status (404), a class ("4xx") or a range ("400-499")'),
]);

const matchSchema = z
  .strictObject({
    status: z.array(statusSpec).min(1, 'expected at least one status'),
    type: patterns,
    error: patterns,
    message: patterns,
    text: patterns,
    header: patterns,
    hostHint: z.literal('other-environment'),
  })
  .partial()
  .refine((m) => Object.values(m).some((v) => v !== undefined), {
    message: 'expected at least one condition (status, type, error, message, text, header or hostHint)',
  });

const ruleSchema = z.strictObject({
  id: z.string().regex(ID, 'expected 1-100 letters, digits, dots, dashes or underscores'),
  category: z.enum(CATEGORIES, `expected one of ${CATEGORIES.join(', ')}`),
  reason: z.string().trim().min(1, 'expected a non-empty reason'),
  match: matchSchema,
});

const fileSchema = z.union([z.array(z.unknown()), z.strictObject({ rules: z.array(z.unknown()) })]);

function toStatus(spec: number | string): StatusSpec {
  if (typeof spec === 'number') return spec;
  const s = spec.trim().toLowerCase();
  if (/^[1-5]xx$/.test(s)) {
    const base = Number(s[0]) * 100;
    return [base, base + 99];
  }
  const range = /^(\d{3})\s*-\s*(\d{3})$/.exec(s);
  if (range) return [Number(range[1]), Number(range[2])];
  return Number(s);
}

function compile(sources: readonly string[]): RegExp[] {
  return sources.map((source) => new RegExp(source, 'i'));
}

/**
 * Validates operator rules already parsed from JSON or YAML (a list, or `{rules: [...]}`) and compiles
 * their patterns (case-insensitive). Throws CredwatchError('RULES_INVALID') naming the source, each bad
 * rule by index and id, and the field.
 */
export function parseRules(data: unknown, source: string): Rule[] {
  const file = fileSchema.safeParse(data);
  if (!file.success) {
    throw new CredwatchError('RULES_INVALID', `rules file ${source}: expected a list of rules, or an object with a "rules" list`);
  }
  const items = Array.isArray(file.data) ? file.data : file.data.rules;
  const problems: string[] = [];
  const rules: Rule[] = [];
  const seen = new Set<string>(BUILTIN_RULES.map((r) => r.id));
  items.forEach((item, index) => {
    const rawId = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)['id'] : undefined;
    const label = `rule ${index}${typeof rawId === 'string' ? ` (id "${rawId}")` : ''}`;
    const parsed = ruleSchema.safeParse(item);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const path = issue.path
          .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
          .join('')
          .replace(/^\./, '');
        problems.push(`${label}: ${path === '' ? '(rule)' : path}: ${issue.message}`);
      }
      return;
    }
    const r = parsed.data;
    if (seen.has(r.id)) {
      problems.push(
        `${label}: id: "${r.id}" is already used by ${BUILTIN_RULES.some((b) => b.id === r.id) ? 'a built-in rule' : 'an earlier rule'}`,
      );
      return;
    }
    seen.add(r.id);
    const m = r.match;
    const match: RuleMatch = {
      ...(m.status !== undefined && { status: m.status.map(toStatus) }),
      ...(m.type !== undefined && { type: compile(m.type) }),
      ...(m.error !== undefined && { error: compile(m.error) }),
      ...(m.message !== undefined && { message: compile(m.message) }),
      ...(m.text !== undefined && { text: compile(m.text) }),
      ...(m.header !== undefined && { header: compile(m.header) }),
      ...(m.hostHint !== undefined && { hostHint: m.hostHint }),
    };
    rules.push({ id: r.id, category: r.category, reason: r.reason, match });
  });
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1).join('; ')})` : '';
    throw new CredwatchError('RULES_INVALID', `rules file ${source}: ${problems[0] ?? ''}${more}`);
  }
  return rules;
}

/** Reads and validates an operator rules file (JSON, or YAML for .yaml/.yml and anything not JSON). */
export async function loadRulesFile(path: string): Promise<Rule[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new CredwatchError('RULES_INVALID', `rules file ${path}: cannot be read (${typeof code === 'string' ? code : 'error'})`, {
      cause: error,
    });
  }
  let data: unknown;
  const isJson = /\.json$/i.test(path) || (!/\.ya?ml$/i.test(path) && /^\s*[[{]/.test(text));
  try {
    data = isJson ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? '';
    throw new CredwatchError('RULES_INVALID', `rules file ${path}: not valid ${isJson ? 'JSON' : 'YAML'} (${message})`, { cause: error });
  }
  return parseRules(data, path);
}

/** A classifier bound to one rule list: the operator's rules first, then the built-in ones. */
export interface Classifier {
  rules: readonly Rule[];
  classifyEvent(event: RawCredentialEvent | CredentialEvent, context: ClassifyContext): Classification;
  /** Category and rule of a normalised event without building evidence: the cheap path for counting. */
  decideEvent(event: CredentialEvent, context: ClassifyContext): Decision;
  assessCredential(events: readonly (RawCredentialEvent | CredentialEvent)[], credential: CredentialSummary | null): Assessment;
}

/** Builds a classifier whose operator rules are checked before the built-in ones. */
export function createClassifier(options: { extraRules?: readonly Rule[] } = {}): Classifier {
  const rules: readonly Rule[] = [...(options.extraRules ?? []), ...BUILTIN_RULES];
  return {
    rules,
    classifyEvent: (event, context) => classifyEvent(event, context, rules),
    decideEvent: (event, context) => {
      const { parsed: _parsed, ...decision } = decideEvent(event, context, rules);
      return decision;
    },
    assessCredential: (events, credential) => assessCredential(events, credential, { rules }),
  };
}
