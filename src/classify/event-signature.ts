import { createHash } from 'node:crypto';
import { redactText } from '../redact.js';
import { STRUCTURAL_RULE_IDS } from './classify-event.js';
import { humanizeCode } from './humanize-code.js';
import { parseBody, type ParsedBody } from './parse-body.js';
import type { CredentialEvent } from './types.js';

/**
 * Rules that decide on a status and a generic word only: a credential decided by one of them is
 * shown in the unclassified inbox too, since a more specific rule may be missing.
 */
export const FALLBACK_RULE_IDS: ReadonlySet<string> = new Set([
  STRUCTURAL_RULE_IDS.fallback,
  'token.status-401-generic',
  'token.status-401-empty',
  'permission.status-403-generic',
]);

/** True when `ruleId` means "no specific rule recognised this": unclassified or a weak fallback. */
export function isFallbackRule(ruleId: string): boolean {
  return FALLBACK_RULE_IDS.has(ruleId);
}

/** What groups failures that read the same: status, code and the message with its variable parts masked. */
export interface EventSignature {
  /** 12 hex digits of a hash of the three parts below: stable across processes and restarts. */
  id: string;
  statusCode: number | null;
  /** The error type or code as sent (`organizationNotShared`), '' when the body has none. */
  code: string;
  /** The message with ids, numbers, dates, e-mails and quoted values masked; at most 160 characters. */
  template: string;
}

const MASKS: ReadonlyArray<[RegExp, string]> = [
  [/\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b/g, '<date>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>'],
  [/\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/g, '<email>'],
  [/https?:\/\/\S+/gi, '<url>'],
  [/"[^"]{1,80}"|'[^']{1,80}'|`[^`]{1,80}`/g, '<value>'],
  // Ids that mix letters and digits (op-42, 7q9abc, ABC123): any word with a digit in it.
  [/\b[\w-]*\d[\w-]*\b/g, '<n>'],
];

// A JHipster `errorKey` or a bare `code` field: part of the signature when there is no type or OAuth error.
const CODE_FIELD = /"(?:errorKey|error_key|errorCode|error_code|code)"\s*:\s*"([A-Za-z][\w.:-]{1,99})"/;

/** Masks the variable parts of a message so that one wording gives one template. */
export function messageTemplate(message: string): string {
  let t = redactText(message).replace(/\s+/g, ' ').trim();
  for (const [pattern, mask] of MASKS) t = t.replace(pattern, mask);
  return t.length > 160 ? `${t.slice(0, 159)}…` : t;
}

/** The signature of a failure event (pure). Reuses a parsed body when the caller has one. */
export function eventSignature(event: CredentialEvent, parsed: ParsedBody | null = null): EventSignature {
  const body = parsed ?? parseBody(event.body);
  const code = (body.type ?? body.error ?? CODE_FIELD.exec(body.text)?.[1] ?? '').slice(0, 100);
  // The first message that is not just the code read as words; else the body text.
  const humanCode = code === '' ? '' : humanizeCode(code);
  const message = body.messages.find((m) => m !== code && m !== humanCode) ?? body.messages[0] ?? body.text;
  const template = messageTemplate(message.slice(0, 2000));
  const id = createHash('sha256')
    .update(`${String(event.statusCode)}\n${code.toLowerCase()}\n${template.toLowerCase()}`)
    .digest('hex')
    .slice(0, 12);
  return { id, statusCode: event.statusCode, code, template };
}
