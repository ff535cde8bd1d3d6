import type { Action, Category, ClientEnvironment } from './categories.js';

/**
 * A credential event as Leaf's `/events` endpoint returns it, before any normalisation. Every field may
 * be missing or of the wrong type: the classifier never throws on it.
 */
export interface RawCredentialEvent {
  id?: unknown;
  createdDate?: unknown;
  statusCode?: unknown;
  headers?: unknown;
  body?: unknown;
  [extra: string]: unknown;
}

/** A credential event after tolerant normalisation. */
export interface CredentialEvent {
  id: string;
  /** ISO date as Leaf sent it ('' when missing). */
  createdDate: string;
  /** Milliseconds since the epoch, or null when createdDate does not parse. */
  createdAtMs: number | null;
  /** The provider's HTTP status, or null when missing or not numeric. */
  statusCode: number | null;
  headers: string;
  body: string;
}

/** What the classifier knows about the credential an event belongs to. */
export interface ClassifyContext {
  clientEnvironment: ClientEnvironment | undefined;
}

/** Redacted evidence of a decision: safe to store, log and send. */
export interface Evidence {
  eventId: string | null;
  statusCode: number | null;
  excerpt: string;
}

/** The verdict on one event. */
export interface Classification {
  category: Category;
  action: Action;
  ruleId: string;
  reason: string;
  evidence: Evidence;
}

/** The part of Leaf's credential object the classifier reads (never the tokens). */
export interface CredentialSummary {
  id?: string | undefined;
  status?: string | undefined;
  clientEnvironment?: ClientEnvironment | undefined;
}

/** The verdict on a credential: its category, and the event (if any) that decided it. */
export interface Assessment extends Classification {
  /** The deciding event, normalised; null when no event decided (no events, or not connected). */
  decidingEvent: CredentialEvent | null;
  /** createdDate of the oldest event of the current run of this category ('' when unknown). */
  since: string;
}
