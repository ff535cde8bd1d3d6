import { humanizeCode, looksLikeCode } from './humanize-code.js';

/** What the classifier reads out of a provider's response body, parsed once. */
export interface ParsedBody {
  kind: 'empty' | 'json' | 'html' | 'text';
  /** Cognito `__type` (or an AWS-style `code`), namespace prefix stripped; null when absent. */
  type: string | null;
  /** OAuth2 `error` (or another short error code string); null when absent. */
  error: string | null;
  /** message, Message, error_description, title, detail... and an HTML page's title/h1. */
  messages: string[];
  /** The body as text: the innermost JSON text, or an HTML page without tags; capped. */
  text: string;
}

/** Bodies longer than this are matched on their first MAX_TEXT characters only. */
export const MAX_TEXT = 64 * 1024;
// JSON.parse of a multi-megabyte body on every poll is not worth it: fall back to text.
const MAX_JSON = 1024 * 1024;

const MESSAGE_KEYS = [
  'message',
  'Message',
  'error_description',
  'errorDescription',
  'errorMessage',
  'error_message',
  'title',
  'detail',
  'details',
  'description',
  'reason',
  'errorKey',
  'error_key',
  'errorMessage',
  'msg',
];

// Fields that hold a code rather than a sentence: read as words too (`organizationNotShared`).
const CODE_KEYS = [
  'errorKey',
  'error_key',
  'code',
  'Code',
  'errorCode',
  'error_code',
  'error',
  'status',
  'reason',
  'message',
  'Message',
  'title',
  'detail',
];

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Unwraps JSON encoded in a JSON string (double- or triple-encoded bodies). */
function decodeJson(text: string): { value: unknown; text: string } | undefined {
  let current = text.trim();
  if (current.length > MAX_JSON) return undefined;
  let value = tryJson(current);
  if (value === undefined) return undefined;
  for (let depth = 0; depth < 3 && typeof value === 'string'; depth += 1) {
    const inner = value.trim();
    if (!/^[[{"]/.test(inner)) break;
    const next = tryJson(inner);
    if (next === undefined) break;
    current = inner;
    value = next;
  }
  return { value, text: current };
}

/** Strips a Java/AWS namespace or URL prefix: `com.amazonaws...#NotAuthorizedException` → `NotAuthorizedException`. */
export function stripTypePrefix(type: string): string {
  const trimmed = type.trim();
  const afterHash = trimmed.includes('#') ? trimmed.slice(trimmed.lastIndexOf('#') + 1) : trimmed;
  // x-amzn-ErrorType headers read `NotAuthorizedException:http://internal.amazon.com/...`.
  const colon = afterHash.indexOf(':');
  return colon > 0 ? afterHash.slice(0, colon) : afterHash;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

function collectMessages(obj: Record<string, unknown>, out: string[], depth: number): void {
  for (const key of MESSAGE_KEYS) {
    const v = obj[key];
    const s = str(v);
    if (s !== null) out.push(s);
    else if (Array.isArray(v)) for (const item of v.slice(0, 10)) if (str(item) !== null) out.push(String(item).trim());
  }
  for (const key of CODE_KEYS) {
    const s = str(obj[key]);
    if (s !== null && looksLikeCode(s)) out.push(humanizeCode(s));
  }
  if (depth >= 2) return;
  // Nested error shapes: {"error": {"message": ...}}, {"errors": [{"message": ...}]}.
  for (const key of ['error', 'errors', 'Error', 'Errors', 'fault', 'data', 'problem']) {
    const v = obj[key];
    const items = Array.isArray(v) ? v.slice(0, 10) : [v];
    for (const item of items) {
      if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
        collectMessages(item as Record<string, unknown>, out, depth + 1);
      }
    }
  }
}

function fromJsonObject(obj: Record<string, unknown>): Pick<ParsedBody, 'type' | 'error' | 'messages'> {
  const nestedError =
    typeof obj['error'] === 'object' && obj['error'] !== null && !Array.isArray(obj['error'])
      ? (obj['error'] as Record<string, unknown>)
      : undefined;
  const awsError =
    typeof obj['Error'] === 'object' && obj['Error'] !== null && !Array.isArray(obj['Error'])
      ? (obj['Error'] as Record<string, unknown>)
      : undefined;
  const rawType =
    str(obj['__type']) ??
    (awsError ? (str(awsError['Code']) ?? str(awsError['code'])) : null) ??
    (typeof obj['code'] === 'string' && /exception|error|fault$/i.test(obj['code']) ? str(obj['code']) : null) ??
    (nestedError ? str(nestedError['__type']) : null);
  const error =
    str(obj['error']) ??
    str(obj['errorCode']) ??
    str(obj['error_code']) ??
    (nestedError ? (str(nestedError['code']) ?? str(nestedError['status'])) : null);
  const messages: string[] = [];
  collectMessages(obj, messages, 0);
  const type = rawType === null ? null : stripTypePrefix(rawType);
  // A provider's own exception name (`OrganizationNotSharedException`) reads as words too, after the messages.
  if (type !== null && looksLikeCode(type) && !messages.includes(humanizeCode(type))) messages.push(humanizeCode(type));
  return { type, error, messages };
}

const HTML_HINT = /^\s*(?:<!doctype html|<html|<head|<body|<\?xml|<[a-z][a-z0-9]*[\s>])/i;

function decodeEntities(text: string): string {
  return text
    .replace(/&nbsp;/gi, ' ')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"')
    .replace(/&#39;|&apos;/gi, "'")
    .replace(/&amp;/gi, '&');
}

function fromHtml(html: string): { messages: string[]; text: string } {
  const messages: string[] = [];
  for (const tag of ['title', 'h1', 'h2', 'Code', 'Message', 'message', 'error', 'detail']) {
    const m = new RegExp(`<${tag}[^<>]*>([^<]{1,500})</${tag}>`, 'i').exec(html);
    const s = m?.[1] === undefined ? null : str(decodeEntities(m[1]));
    if (s !== null && !messages.includes(s)) messages.push(s);
    if (s !== null && looksLikeCode(s)) messages.push(humanizeCode(s));
  }
  const text = decodeEntities(html.replace(/<[^<>]*>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
  return { messages, text };
}

/** Parses a provider body (JSON, double-encoded JSON, HTML or text) once. Never throws. */
export function parseBody(body: string): ParsedBody {
  const capped = body.length > MAX_TEXT ? body.slice(0, MAX_TEXT) : body;
  if (capped.trim() === '') return { kind: 'empty', type: null, error: null, messages: [], text: '' };
  const trimmed = body.trim();
  if (/^[[{"]/.test(trimmed)) {
    const decoded = decodeJson(trimmed);
    if (decoded !== undefined) {
      const { value } = decoded;
      const text = decoded.text.length > MAX_TEXT ? decoded.text.slice(0, MAX_TEXT) : decoded.text;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        return { kind: 'json', ...fromJsonObject(value as Record<string, unknown>), text };
      }
      if (Array.isArray(value)) {
        const first = value.find((v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v));
        const parts = first === undefined ? { type: null, error: null, messages: [] } : fromJsonObject(first as Record<string, unknown>);
        return { kind: 'json', ...parts, text };
      }
      if (typeof value === 'string') {
        const s = value.trim();
        const messages = s === '' ? [] : looksLikeCode(s) ? [s, humanizeCode(s)] : [s.slice(0, MAX_TEXT)];
        return { kind: 'text', type: null, error: null, messages, text: s.slice(0, MAX_TEXT) };
      }
      return { kind: 'json', type: null, error: null, messages: [], text };
    }
  }
  if (HTML_HINT.test(capped)) {
    const { messages, text } = fromHtml(capped);
    return { kind: 'html', type: null, error: null, messages, text };
  }
  const text = capped.trim();
  return { kind: 'text', type: null, error: null, messages: looksLikeCode(text) ? [text, humanizeCode(text)] : [text], text };
}
