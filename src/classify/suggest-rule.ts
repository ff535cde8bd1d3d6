import { CredwatchError } from '../errors.js';
import type { Category } from './categories.js';
import { parseRules } from './rules-file.js';
import type { Rule } from './rules.js';

/** What a suggestion is made from: one inbox signature. */
export interface SignatureInput {
  id: string;
  statusCode: number | null;
  code: string;
  template: string;
}

/** A rule as written in the operator's rules file (plain data: strings, not RegExp). */
export interface RuleFileEntry {
  id: string;
  category: Category;
  reason: string;
  match: { status?: number[]; text?: string[]; message?: string[] };
}

const MASK = /<(?:n|id|date|email|url|value)>/g;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A pattern for a message template: literal text, masks as short wildcards, any run of spaces as \s+. */
export function templatePattern(template: string): string {
  // A template cut at 160 characters ends with an ellipsis: match the part before it.
  const text = template.replace(/…$/, '').trim();
  return text
    .split(MASK)
    .map((part) => escapeRegExp(part).replace(/\s+/g, '\\s+'))
    .join('.{1,120}?');
}

/**
 * Builds an operator rule matching one inbox signature (status, code as a whole word, message template),
 * for the category the operator chose, and validates it with the rules-file loader. Throws RULES_INVALID.
 */
export function suggestRule(
  signature: SignatureInput,
  category: Category,
  options: { id?: string } = {},
): { entry: RuleFileEntry; rule: Rule } {
  const match: RuleFileEntry['match'] = {};
  if (signature.statusCode !== null) match.status = [signature.statusCode];
  if (signature.code !== '') match.text = [`(?<![A-Za-z0-9_])${escapeRegExp(signature.code)}(?![A-Za-z0-9_])`];
  const pattern = templatePattern(signature.template);
  if (pattern !== '') match.message = [pattern];
  else if (signature.code === '') match.text = ['^\\s*$'];
  const entry: RuleFileEntry = {
    id: options.id ?? `local.${category.replace(/_/g, '-')}.${signature.id}`,
    category,
    reason:
      `operator rule for signature ${signature.id}: ${[signature.statusCode ?? 'no status', signature.code, signature.template].filter((p) => p !== '').join(' · ')}`.slice(
        0,
        300,
      ),
    match,
  };
  const [rule] = parseRules([entry], `suggestion for ${signature.id}`);
  if (rule === undefined) throw new CredwatchError('RULES_INVALID', `suggestion for ${signature.id}: no rule was produced`);
  return { entry, rule };
}
