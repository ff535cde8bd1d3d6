const MASK = '[REDACTED]';

// JSON-ish `"key": "value"` and `key=value` pairs whose key names a secret.
const SECRET_KEYS =
  'access_?token|refresh_?token|id_?token|token|password|passwd|secret|client_?secret|authorization|api_?key|session|cookie|set-cookie|x-leaf-signature';
const JSON_PAIR = new RegExp(`("(?:${SECRET_KEYS})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi');
const ESCAPED_JSON_PAIR = new RegExp(`(\\\\"(?:${SECRET_KEYS})\\\\"\\s*:\\s*)\\\\"(?:[^"\\\\]|\\\\[^"])*\\\\"`, 'gi');
const KV_PAIR = new RegExp(`\\b((?:${SECRET_KEYS})\\s*[=:]\\s*)(?!\\[REDACTED\\])[^\\s&,;"']+`, 'gi');
const HEADER_LINE = /^((?:authorization|proxy-authorization|cookie|set-cookie|x-api-key)\s*:\s*).+$/gim;
const BEARER = /\b(bearer|basic)\s+[A-Za-z0-9\-._~+/=]{8,}/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
const WEBHOOK_SECRET = /\bwhsec_[A-Za-z0-9+/=]+/g;
// Cognito refresh tokens are long opaque base64url strings; mask any run that long.
const LONG_OPAQUE = /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{120,}(?![A-Za-z0-9_-])/g;

/** Removes tokens, passwords and secrets from any text. Pure, never throws. */
export function redactText(text: string): string {
  return text
    .replace(JWT, MASK)
    .replace(WEBHOOK_SECRET, MASK)
    .replace(JSON_PAIR, `$1"${MASK}"`)
    .replace(ESCAPED_JSON_PAIR, `$1\\"${MASK}\\"`)
    .replace(HEADER_LINE, `$1${MASK}`)
    .replace(BEARER, `$1 ${MASK}`)
    .replace(KV_PAIR, `$1${MASK}`)
    .replace(LONG_OPAQUE, MASK);
}

/** A redacted, whitespace-folded excerpt of at most `max` characters, for evidence and errors. */
export function excerpt(text: unknown, max = 200): string {
  let s: string;
  if (typeof text === 'string') s = text;
  else if (text === null || text === undefined) s = '';
  else {
    try {
      s = JSON.stringify(text) ?? '';
    } catch {
      s = String(text);
    }
  }
  // Redact before cutting so a token split by the cut cannot survive half-masked.
  const folded = redactText(s.length > max * 20 ? s.slice(0, max * 20) : s)
    .replace(/\s+/g, ' ')
    .trim();
  return folded.length > max ? `${folded.slice(0, max - 1)}…` : folded;
}
