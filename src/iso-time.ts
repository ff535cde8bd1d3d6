/**
 * The one timestamp format credwatch writes (API, audit, webhooks, history): ISO 8601 UTC with
 * milliseconds. Leaf's createdDate comes with 0, 3 or 6 fractional digits; it is kept raw only in evidence.
 */
export function toIsoTimestamp(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined || raw === '') return null;
  const ms = Date.parse(raw);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}
