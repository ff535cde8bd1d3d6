/** The longest wait a `Retry-After` header can ask for unless the caller caps it lower: one day. */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * Milliseconds to wait from a `Retry-After` header (RFC 9110): delta-seconds (a fraction is accepted) or an
 * HTTP date, measured from `nowMs`. Undefined when absent or unreadable; never negative; capped at `maxMs`.
 * The one parser of the header, for Leaf's answers and for webhook receivers' answers alike.
 */
export function parseRetryAfter(
  value: string | readonly string[] | undefined,
  nowMs: number,
  maxMs: number = MAX_RETRY_AFTER_MS,
): number | undefined {
  const text = (typeof value === 'string' ? value : value?.[0])?.trim();
  if (text === undefined || text === '') return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
  else {
    // An HTTP date always names a weekday and month; Date.parse alone would accept "-5" as a year.
    if (!/[a-z]/i.test(text)) return undefined;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(maxMs, Math.max(0, Math.ceil(ms)));
}
