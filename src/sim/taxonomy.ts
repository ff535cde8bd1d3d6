import type { Category, ClientEnvironment } from '../classify/categories.js';
import type { SimEvent } from './types.js';

// The simulator's own reading of credential-failures.md. It is deliberately independent of
// src/classify so that the simulator is an oracle for the classifier, not a copy of it.

const ENV_TEXT =
  /resourcenotfoundexception|usernotfoundexception|invalid_client|client \S+ not found|user pool .*does not exist|environment (?:does not match|mismatch)/i;
const ORG_TEXT = /organi[sz]ation|org(?:anization)? code|\boperation not found|not shared with partner|sharing revoked/i;
const TOKEN_TEXT =
  /notauthorizedexception|refresh token has (?:expired|been revoked)|invalid refresh token|access token has expired|token is expired|invalid_grant|token expired|incoming token has expired|jwt expired/i;
const PERMISSION_TEXT = /accessdeniedexception|insufficient.scope|permission/i;
const TRANSIENT_TEXT = /toomanyrequestsexception|internalerrorexception|throttl|rate exceeded|timed? ?out/i;

function asText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The category of one event, for a credential in `env`. */
export function eventCategory(event: Pick<SimEvent, 'statusCode' | 'headers' | 'body'>, env: ClientEnvironment): Category {
  const status = Number(event.statusCode);
  if (status >= 200 && status < 300) return 'healthy';
  const text = `${asText(event.body)}\n${asText(event.headers)}`;
  if (ENV_TEXT.test(text)) return 'environment_mismatch';
  if (env === 'PRODUCTION' && /bananorama|\bstag(?:e|ing)\b/i.test(text)) return 'environment_mismatch';
  if (env === 'STAGE' && /panorama\.ag/i.test(text)) return 'environment_mismatch';
  if ((status === 400 || status === 403 || status === 404) && ORG_TEXT.test(text)) return 'wrong_organization_code';
  if (status >= 500 || status === 429 || status === 408 || TRANSIENT_TEXT.test(text)) return 'provider_unavailable';
  if (TOKEN_TEXT.test(text) || (status === 401 && /unauthorized/i.test(text))) return 'cognito_token_expired';
  if (status === 403 && PERMISSION_TEXT.test(text)) return 'missing_permission';
  return 'unclassified';
}

const DEFINITIVE: ReadonlySet<Category> = new Set([
  'cognito_token_expired',
  'wrong_organization_code',
  'environment_mismatch',
  'missing_permission',
]);

const STATUS_CATEGORY: Readonly<Record<string, Category>> = {
  UNAUTHENTICATED: 'cognito_token_expired',
  MISSING_PERMISSION: 'missing_permission',
  TEMPORARILY_UNAVAILABLE: 'provider_unavailable',
};

/** Events sorted oldest first with duplicate ids dropped (the first copy wins). */
export function orderedEvents(events: readonly SimEvent[]): SimEvent[] {
  const seen = new Set<string>();
  const unique = events.filter((e) => (seen.has(e.id) ? false : (seen.add(e.id), true)));
  return unique
    .map((e, i) => ({ e, i, t: Date.parse(e.createdDate ?? '') }))
    .sort((a, b) => (a.t === b.t || Number.isNaN(a.t) || Number.isNaN(b.t) ? a.i - b.i : a.t - b.t))
    .map((x) => x.e);
}

/**
 * A credential's expected category by the taxonomy: the newest event decides; transient failures after
 * a definitive one do not clear it; the credential status is a second witness when the log looks fine.
 */
export function expectedCategoryOf(
  credential: { status: string; clientEnvironment: ClientEnvironment } | null,
  events: readonly SimEvent[],
): Category {
  if (credential === null) return 'not_connected';
  const ordered = orderedEvents(events);
  const fromStatus = STATUS_CATEGORY[credential.status];
  const newest = ordered.at(-1);
  if (newest === undefined) return fromStatus ?? 'healthy';
  const category = eventCategory(newest, credential.clientEnvironment);
  if (category === 'healthy') return fromStatus ?? 'healthy';
  if (category === 'provider_unavailable') {
    for (let i = ordered.length - 2; i >= 0; i -= 1) {
      const older = ordered[i];
      if (older === undefined) break;
      const olderCategory = eventCategory(older, credential.clientEnvironment);
      if (olderCategory === 'provider_unavailable') continue;
      if (DEFINITIVE.has(olderCategory)) return olderCategory;
      break;
    }
    if (fromStatus !== undefined && fromStatus !== 'provider_unavailable') return fromStatus;
  }
  return category;
}
