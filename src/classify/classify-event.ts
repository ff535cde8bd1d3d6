import { excerpt, redactText } from '../redact.js';
import { ACTION_BY_CATEGORY, type Category, type ClientEnvironment } from './categories.js';
import { environmentOf } from './client-environment.js';
import { isCredentialEvent, normalizeEvent } from './normalize-event.js';
import { parseBody, type ParsedBody } from './parse-body.js';
import { BUILTIN_RULES, REAUTH_CATEGORIES, type Rule, type StatusSpec } from './rules.js';
import type { Classification, ClassifyContext, CredentialEvent, Evidence, RawCredentialEvent } from './types.js';

/** The verdict on one event without its evidence (cheap: used while walking long event logs). */
export interface Decision {
  category: Category;
  ruleId: string;
  reason: string;
}

/** Rule ids the classifier itself uses (not in any table). */
export const STRUCTURAL_RULE_IDS = {
  success: 'status.2xx',
  transient: 'status.transient',
  fallback: 'fallback.unclassified',
} as const;

/**
 * True for the statuses that are transient by definition: 5xx, 429, 408, and 0 (no HTTP answer at all: the
 * connection failed or timed out before the provider said anything, which is never a reason to re-authenticate).
 */
export function isTransientStatus(status: number | null): boolean {
  return status !== null && (status === 0 || status === 429 || status === 408 || (status >= 500 && status <= 599));
}

const STAGE_LABEL = /(?:^|[.-])(?:stage|staging)(?:[.-]|$)/i;
const ENVIRONMENT_NOUN = String.raw`(?:environment|env|tenant|stack|user ?pool|pool|instance|cluster|deployment|realm)`;
const STAGE_TEXT = new RegExp(
  String.raw`\bbananorama\b|\b(?:stage|staging) ${ENVIRONMENT_NOUN}\b|\benvironment\W{1,3}(?:stage|staging)\b`,
  'i',
);
const PRODUCTION_HOST = /(?<![a-z0-9-])panorama\.ag\b/i;
const PRODUCTION_TEXT = new RegExp(String.raw`\b(?:production|prod) ${ENVIRONMENT_NOUN}\b|\benvironment\W{1,3}production\b`, 'i');
const TLD = /\.[a-z]{2,}$/i;

/** True when `text` (headers and body) names the other Panorama environment than `env`. */
export function namesOtherEnvironment(text: string, env: ClientEnvironment): boolean {
  if (env === 'STAGE') return PRODUCTION_HOST.test(text) || PRODUCTION_TEXT.test(text);
  if (STAGE_TEXT.test(text)) return true;
  // Host names with a stage/staging label (api.staging.example.com, stage-api.example.io).
  for (const token of text.split(/[^a-z0-9.-]+/i)) {
    if (token.length > 3 && token.length < 254 && TLD.test(token) && STAGE_LABEL.test(token.replace(TLD, ''))) return true;
  }
  return false;
}

function statusMatches(status: number | null, specs: readonly StatusSpec[]): boolean {
  if (status === null) return false;
  return specs.some((spec) => (typeof spec === 'number' ? spec === status : status >= spec[0] && status <= spec[1]));
}

function test(patterns: readonly RegExp[], values: readonly string[]): boolean {
  for (const pattern of patterns) {
    for (const value of values) {
      // A global or sticky regex keeps state between calls: start each test from the beginning.
      if (pattern.global || pattern.sticky) pattern.lastIndex = 0;
      if (pattern.test(value)) return true;
    }
  }
  return false;
}

interface MatchInput {
  status: number | null;
  parsed: ParsedBody;
  headers: string;
  otherEnvironment: () => boolean;
}

/** Pass 1 tests type/error/message on the parsed fields; pass 2 tests them on the whole body text. */
function ruleMatches(rule: Rule, input: MatchInput, pass: 1 | 2): boolean {
  const m = rule.match;
  let conditions = 0;
  const { parsed } = input;
  const fieldValues = (value: string | null): string[] => (pass === 2 ? [parsed.text] : value === null ? [] : [value]);
  if (m.status !== undefined) {
    conditions += 1;
    if (!statusMatches(input.status, m.status)) return false;
  }
  if (m.type !== undefined) {
    conditions += 1;
    if (!test(m.type, fieldValues(parsed.type))) return false;
  }
  if (m.error !== undefined) {
    conditions += 1;
    if (!test(m.error, fieldValues(parsed.error))) return false;
  }
  if (m.message !== undefined) {
    conditions += 1;
    if (!test(m.message, pass === 2 ? [parsed.text] : parsed.messages)) return false;
  }
  if (m.text !== undefined) {
    conditions += 1;
    if (!test(m.text, [parsed.text])) return false;
  }
  if (m.header !== undefined) {
    conditions += 1;
    if (!test(m.header, [input.headers])) return false;
  }
  if (m.hostHint !== undefined) {
    conditions += 1;
    if (!input.otherEnvironment()) return false;
  }
  // A rule without conditions would match everything: it matches nothing instead.
  return conditions > 0;
}

function needsBodyFields(rule: Rule): boolean {
  const m = rule.match;
  return m.type !== undefined || m.error !== undefined || m.message !== undefined;
}

const HEADER_CAP = 16 * 1024;

/**
 * Decides one normalised event's category and rule, without building evidence. Never throws.
 * Returns the parsed body too (null when it was not needed) so evidence can reuse it.
 */
export function decideEvent(
  event: CredentialEvent,
  context: ClassifyContext,
  rules: readonly Rule[] = BUILTIN_RULES,
): Decision & { parsed: ParsedBody | null } {
  const status = event.statusCode;
  if (status !== null && status >= 200 && status <= 299) {
    return { category: 'healthy', ruleId: STRUCTURAL_RULE_IDS.success, reason: `the provider answered ${status}`, parsed: null };
  }
  const transient = isTransientStatus(status);
  const parsed = parseBody(event.body);
  const env = environmentOf((context as { clientEnvironment?: unknown } | undefined)?.clientEnvironment);
  const headers = event.headers.length > HEADER_CAP ? event.headers.slice(0, HEADER_CAP) : event.headers;
  let other: boolean | undefined;
  const input: MatchInput = {
    status,
    parsed,
    headers,
    otherEnvironment: () => {
      if (env === undefined) return false;
      other ??= namesOtherEnvironment(`${headers}\n${parsed.text}`, env);
      return other;
    },
  };
  for (const pass of [1, 2] as const) {
    for (const rule of rules) {
      if (pass === 2 && !needsBodyFields(rule)) continue;
      // Structural guarantee: a 5xx/429/408/0 is never turned into a re-auth, whatever the rule list says.
      if (transient && REAUTH_CATEGORIES.has(rule.category)) continue;
      if (ruleMatches(rule, input, pass)) {
        return { category: rule.category, ruleId: rule.id, reason: rule.reason, parsed };
      }
    }
  }
  if (transient) {
    return {
      category: 'provider_unavailable',
      ruleId: STRUCTURAL_RULE_IDS.transient,
      reason: status === 0 ? 'no HTTP answer from the provider (status 0)' : `the provider answered ${String(status)}, a transient status`,
      parsed,
    };
  }
  const what = status === null ? 'a failure without a status code' : `status ${status}`;
  return { category: 'unclassified', ruleId: STRUCTURAL_RULE_IDS.fallback, reason: `no rule recognises ${what}`, parsed };
}

/** Redacted evidence for an event: id, status and a short excerpt of what the provider said. */
export function evidenceFor(event: CredentialEvent, parsed: ParsedBody | null): Evidence {
  const source = parsed === null ? event.body.slice(0, 64 * 1024) : parsed.text;
  // Fold and redact the whole text before excerpt() cuts it, so no half-cut secret can slip through.
  return { eventId: event.id, statusCode: event.statusCode, excerpt: excerpt(redactText(source.replace(/\s+/g, ' '))) };
}

/**
 * Classifies one credential event (raw as Leaf sent it, or normalised) for a credential in `context`.
 * Pure and total: never throws, whatever the input.
 */
export function classifyEvent(
  event: RawCredentialEvent | CredentialEvent,
  context: ClassifyContext,
  rules: readonly Rule[] = BUILTIN_RULES,
): Classification {
  const normalized = isCredentialEvent(event) ? event : normalizeEvent(event);
  const { parsed, ...decision } = decideEvent(normalized, context, rules);
  return { ...decision, action: ACTION_BY_CATEGORY[decision.category], evidence: evidenceFor(normalized, parsed) };
}
