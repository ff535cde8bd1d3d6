import { createHash } from 'node:crypto';
import type { Category } from '../classify/categories.js';
import type { Evidence } from '../classify/types.js';

/** What a fleet incident is about: failures that share this are presumed to share one cause. */
export interface FailureSignature {
  /** Short stable id (hash of `text`): Redis keys and API paths use it. */
  id: string;
  /** `category|status|errorType|template`, human readable. */
  text: string;
  category: Category;
  statusCode: number | null;
  /** Cognito `__type` (namespace stripped) or OAuth `error`; '' when the answer has none. */
  errorType: string;
  /** The message with ids, numbers, dates, UUIDs and hex runs masked. */
  template: string;
}

const MAX_TEMPLATE = 160;

// Order matters: the most specific shapes first, so a UUID is not eaten as numbers and hex.
const MASKS: ReadonlyArray<[RegExp, string]> = [
  [/\b\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?/gi, '<date>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b(?:us|eu|ap|sa|ca|me|af)-[a-z]+-\d\b/gi, '<region>'],
  [/\b(?=[a-z0-9]*\d)(?=[a-z0-9]*[a-z])[a-z0-9]{16,}\b/gi, '<id>'],
  [/\b[0-9a-f]{8,}\b/gi, '<hex>'],
  [/\d+(?:\.\d+)?/g, '<n>'],
];

/** The message of a provider answer with variable parts masked, lower-cased and whitespace-folded. */
export function messageTemplate(message: string): string {
  let s = message;
  for (const [pattern, mask] of MASKS) s = s.replace(pattern, mask);
  return s.replace(/\s+/g, ' ').trim().toLowerCase().slice(0, MAX_TEMPLATE);
}

function parsedFields(excerpt: string): { type: string; message: string } {
  const start = excerpt.indexOf('{');
  if (start >= 0) {
    try {
      const value = JSON.parse(excerpt.slice(start)) as unknown;
      if (typeof value === 'object' && value !== null) {
        const o = value as Record<string, unknown>;
        const text = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : '');
        const rawType = text('__type') || text('error') || text('code') || text('errorCode');
        const message = text('message') || text('Message') || text('error_description') || text('detail') || text('title');
        return { type: rawType.replace(/^.*#/, ''), message: message || (rawType ? '' : excerpt) };
      }
    } catch {
      // Not JSON (or cut off): fall through to the raw text.
    }
  }
  const title = /<title>([^<]*)<\/title>/i.exec(excerpt);
  return { type: '', message: title?.[1] ?? excerpt };
}

/**
 * The normalised signature of a failure: category + status code + error type/code + message template.
 * Pure; the same cause seen on thousands of credentials gives one signature whatever ids, numbers,
 * dates or regions the individual answers carry.
 */
export function failureSignature(input: { category: Category; evidence: Evidence }): FailureSignature {
  const { type, message } = parsedFields(input.evidence.excerpt);
  const statusCode = input.evidence.statusCode;
  const errorType = type.toLowerCase();
  const template = messageTemplate(message);
  const text = `${input.category}|${statusCode ?? '-'}|${errorType || '-'}|${template}`;
  const id = createHash('sha256').update(text).digest('hex').slice(0, 16);
  return { id, text, category: input.category, statusCode, errorType, template };
}

/** The likely shared cause of an incident, in words, from its signature. */
export function likelyCause(signature: Pick<FailureSignature, 'category' | 'statusCode' | 'errorType' | 'template'>): string {
  const { category, statusCode, errorType, template } = signature;
  if (category === 'provider_unavailable' || (statusCode !== null && statusCode >= 500)) {
    return 'Panorama (or its Cognito) is unavailable or throttling: a provider outage, nothing growers can fix.';
  }
  if (/incorrect username or password|password/i.test(template) || (errorType === 'notauthorizedexception' && !/token/.test(template))) {
    return "The partner account's login is refused (partner username or password changed): the integrator must update the partner credentials.";
  }
  if (category === 'environment_mismatch' || /client|user pool/.test(template) || errorType === 'invalid_client') {
    return 'The partner app client (clientId) was rotated or deleted, or points at the other Panorama environment: the integrator must fix the app client.';
  }
  if (category === 'unclassified' || (statusCode !== null && statusCode >= 400 && errorType === '' && template === '')) {
    return 'An unrecognised error on many credentials at once: likely a Leaf-side regression or a change of the provider API.';
  }
  if (category === 'cognito_token_expired') {
    return "Many grower logins refused at once: likely a partner account or app client change (or a Cognito incident), not each grower's doing.";
  }
  return 'The same failure on many credentials at once: likely a shared cause on the partner, Panorama or Leaf side rather than each grower.';
}
