/**
 * Every stable error code credwatch raises. Codes are part of the log and API contract: add, never rename.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 'a configuration variable or file is invalid',
  RULES_INVALID: 'the classifier rules file is invalid',
  WEBHOOKS_INVALID: 'the webhook endpoints file is invalid',
  INPUT_INVALID: 'input given to a command is invalid',
  LEAF_AUTH_FAILED: 'Leaf refused the credentials or token',
  LEAF_RATE_LIMITED: 'Leaf answered 429; retry after retryAfterMs',
  LEAF_UNAVAILABLE: 'Leaf answered 5xx, timed out or could not be reached',
  LEAF_BAD_RESPONSE: 'Leaf answered with malformed JSON or an unexpected shape',
  LEAF_NOT_FOUND: 'the Leaf resource does not exist',
  LEAF_REQUEST_REJECTED: 'Leaf rejected the request (4xx other than 401/404/429)',
  REDIS_UNAVAILABLE: 'Redis could not be reached',
  WEBHOOK_PAYLOAD_TOO_LARGE: 'a webhook body would exceed 8 KiB even without its evidence excerpt',
  WEBHOOK_ENDPOINT_UNKNOWN: 'no webhook endpoint with that name is configured',
  DEAD_LETTER_NOT_FOUND: 'no dead letter with that id',
  WEBHOOK_DELIVERY_FAILED: 'a webhook endpoint did not answer 2xx in time; the delivery is retried',
  WEBHOOK_ENDPOINT_DISABLED: 'the webhook endpoint is disabled (it answered 410 Gone); enable it first',
  BENCH_FAILED: 'a benchmark step failed: a child process exited or a wait timed out',
  PORT_IN_USE: 'a port credwatch must listen on is taken by another process',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base class of credwatch's errors: a stable `code`, a safe message, and an optional cause. */
export class CredwatchError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** Only the safe fields: never the cause, which may hold request details. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** Narrows an unknown thrown value to a CredwatchError with the given code. */
export function isCredwatchError(error: unknown, code?: ErrorCode): error is CredwatchError {
  return error instanceof CredwatchError && (code === undefined || error.code === code);
}
