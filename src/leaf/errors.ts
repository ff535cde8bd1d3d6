import { CredwatchError, type ErrorCode } from '../errors.js';
import { redactText } from '../redact.js';
import type { LeafOperation } from '../core/leaf-operations.js';

/** Every error code the Leaf client raises. */
export type LeafErrorCode = Extract<
  ErrorCode,
  'LEAF_AUTH_FAILED' | 'LEAF_RATE_LIMITED' | 'LEAF_UNAVAILABLE' | 'LEAF_BAD_RESPONSE' | 'LEAF_NOT_FOUND' | 'LEAF_REQUEST_REJECTED'
>;

/** The call that failed: a metric operation, or one of the alert-webhook calls (not metric labels). */
export type LeafCall = LeafOperation | 'list_alert_webhooks' | 'create_alert_webhook' | 'delete_alert_webhook';

/** Details a LeafError carries; every string is already safe to log. */
export interface LeafErrorDetails {
  operation: LeafCall;
  /** HTTP status Leaf answered, or undefined for a network failure or timeout. */
  status?: number | undefined;
  /** For LEAF_RATE_LIMITED (and a 503 with Retry-After): how long to wait before trying again. */
  retryAfterMs?: number | undefined;
  /** For LEAF_BAD_RESPONSE and LEAF_REQUEST_REJECTED: a redacted excerpt of what Leaf answered. */
  excerpt?: string | undefined;
  /** Leaf's `errorKey` from its error body (e.g. `eventRegisteredTwice`). */
  errorKey?: string | undefined;
  /** A safe cause (never a got error, whose options hold the Authorization header or the password). */
  cause?: SafeCause | undefined;
}

/** A cause reduced to a redacted message and a system code such as ECONNREFUSED or ETIMEDOUT. */
export class SafeCause extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(redactText(message));
    this.name = 'SafeCause';
  }

  /** Builds a safe cause from anything thrown by got or the network stack. */
  static from(error: unknown): SafeCause {
    if (error instanceof Error) {
      const code = (error as { code?: unknown }).code;
      return new SafeCause(error.message, typeof code === 'string' ? code : undefined);
    }
    return new SafeCause(String(error), undefined);
  }

  /** The same safe fields, for JSON. */
  toJSON(): Record<string, unknown> {
    return { message: this.message, code: this.code };
  }
}

/**
 * A failed call to Leaf. The message names the operation and status only: never a URL with credentials,
 * a token, a password or a request header. `toJSON()` keeps the safe fields.
 */
export class LeafError extends CredwatchError {
  readonly operation: LeafCall;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly excerpt: string | undefined;
  readonly errorKey: string | undefined;

  constructor(code: LeafErrorCode, message: string, details: LeafErrorDetails) {
    super(code, redactText(message), details.cause === undefined ? undefined : { cause: details.cause });
    this.operation = details.operation;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.excerpt = details.excerpt === undefined ? undefined : redactText(details.excerpt);
    this.errorKey = details.errorKey === undefined ? undefined : redactText(details.errorKey).slice(0, 100);
  }

  override toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...super.toJSON(), operation: this.operation };
    if (this.status !== undefined) out['status'] = this.status;
    if (this.retryAfterMs !== undefined) out['retryAfterMs'] = this.retryAfterMs;
    if (this.excerpt !== undefined) out['excerpt'] = this.excerpt;
    if (this.errorKey !== undefined) out['errorKey'] = this.errorKey;
    return out;
  }
}

/** Narrows an unknown thrown value to a LeafError, optionally of one code. */
export function isLeafError(error: unknown, code?: LeafErrorCode): error is LeafError {
  return error instanceof LeafError && (code === undefined || error.code === code);
}
