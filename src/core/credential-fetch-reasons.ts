/**
 * Why a poll fetched Leaf's credential object instead of trusting its cached copy (a bounded label set:
 * `credwatch_credential_fetches_total{reason}`). Documented in docs/operations.md, "Requests per poll".
 */
export const CREDENTIAL_FETCH_REASONS = [
  'not_cached',
  'too_old',
  'failing_status',
  'events_not_found',
  'events_appeared',
  'new_failure_event',
  'log_reset',
] as const;

/** One of CREDENTIAL_FETCH_REASONS. */
export type CredentialFetchReason = (typeof CREDENTIAL_FETCH_REASONS)[number];
