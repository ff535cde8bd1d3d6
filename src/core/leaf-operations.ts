/**
 * The Leaf calls credwatch counts (the `operation` label of the Leaf request metrics). Shared by the Leaf
 * client, which labels its requests, and metrics, which zeroes every label set from this list.
 */
export const LEAF_OPERATIONS = ['authenticate', 'list_users', 'get_credential', 'get_events'] as const;
export type LeafOperation = (typeof LEAF_OPERATIONS)[number];

/** The bounded `status_class` label of a request to Leaf. */
export const STATUS_CLASSES = ['2xx', '4xx', '429', '5xx', 'error'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** Maps an HTTP status (or a network failure) to the bounded `status_class` label. */
export function statusClass(status: number | undefined): StatusClass {
  if (status === undefined) return 'error';
  if (status === 429) return '429';
  if (status >= 200 && status < 300) return '2xx';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  return 'error';
}
