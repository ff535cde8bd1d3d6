import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { CredentialEvent } from '../classify/types.js';
import type { Logger } from '../logger.js';
import { excerpt } from '../redact.js';
import { LEAF_OPERATIONS, statusClass, type LeafOperation } from '../core/leaf-operations.js';
import type { Metrics } from '../metrics/metrics.js';
import { VERSION } from '../version.js';
import { LeafError, SafeCause, type LeafCall } from './errors.js';
import { HttpTransport, type HttpAnswer } from './http-transport.js';
import { normalizeEventsInChunks } from './events.js';
import { parseJsonArrayInChunks } from './json-array.js';
import { PROVIDERS, type ProviderId } from '../core/providers.js';
import { parseRetryAfter } from '../core/retry-after.js';
import type { RequestBudget } from './request-budget.js';
import { sleep } from './request-budget.js';
import { LATE_SEND_FREE_MS } from './budget-slots.js';
import { backoffDelay, type BackoffDelayOptions } from './backoff-delay.js';
import {
  nextLink,
  parseAlertWebhook,
  parseCredential,
  parseLeafErrorBody,
  parseTotalCount,
  parseUsersPage,
  type AlertWebhook,
  type LeafUser,
  type SafeCredential,
} from './schemas.js';
import type { TokenStore } from './token-store.js';

/** Everything a LeafClient needs; config values arrive from the composition root, never from env. */
export interface LeafClientOptions {
  /** Base URL, e.g. `https://api.withleaf.io` or a simulator's URL. */
  apiUrl: string;
  username?: string | undefined;
  password?: string | undefined;
  /** A static token: no login, and a 401 is final. */
  token?: string | undefined;
  requestTimeoutMs: number;
  /** Retries of 5xx, network errors and timeouts inside the client (not of 429). */
  maxRetries: number;
  budget: RequestBudget;
  tokenStore: TokenStore;
  metrics?: Metrics | undefined;
  logger?: Logger | undefined;
  /** Backoff tuning (tests shorten it). */
  retry?: BackoffDelayOptions | undefined;
  /** A 503 asking to wait longer than this (ms) fails at once with retryAfterMs instead of sleeping. */
  maxRetryAfterWaitMs?: number | undefined;
}

/** One page of Leaf users. */
export interface LeafUserPage {
  users: LeafUser[];
  page: number;
  /** From `X-Total-Count`, when Leaf sent it. */
  total: number | undefined;
  /** Elements of the page without a usable id (not in `users`). */
  skipped: number;
}

/** The answer of getCredential: the credential without its tokens, or "not connected" (Leaf said 404). */
export type CredentialLookup = { connected: true; credential: SafeCredential } | { connected: false };

interface RequestSpec {
  call: LeafCall;
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  searchParams?: Record<string, string | number>;
  json?: unknown;
  /** Send the bearer token (false only for the login itself). */
  auth: boolean;
}

const DEFAULT_PAGE_SIZE = 100;
// A truncated body can end inside a secret's value, where no closing quote lets redactText find it.
const UNTERMINATED_SECRET = /("(?:access_?token|refresh_?token|id_?token|token|password|secret)"\s*:\s*")[^"]*$/i;

/** A redacted excerpt of a body Leaf sent, safe even when the body was cut mid-secret. */
function bodyExcerpt(body: string): string {
  return excerpt(body.slice(0, 8192).replace(UNTERMINATED_SECRET, '$1[REDACTED]"'));
}
const isMetricOperation = (call: LeafCall): call is LeafOperation => (LEAF_OPERATIONS as readonly string[]).includes(call);

/**
 * The one HTTP client for Leaf. Every request takes a budget token first (retries and logins too); the
 * transport never retries: the client retries 5xx, network errors and timeouts itself with full-jitter
 * backoff; a 401 renews the token once; a 429 pauses the budget and fails with LEAF_RATE_LIMITED.
 */
export class LeafClient {
  private readonly http: HttpTransport;
  private readonly closing = new AbortController();
  private readonly apiUrl: string;
  private readonly userManagement: string;
  private readonly alertWebhooks: string;

  constructor(private readonly options: LeafClientOptions) {
    // Every in-flight request and wait listens to this one signal: as many as the poll concurrency.
    setMaxListeners(0, this.closing.signal);
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.userManagement = `${this.apiUrl}/services/usermanagement/api`;
    this.alertWebhooks = `${this.apiUrl}/services/alerts/api/alerts/webhooks`;
    this.http = new HttpTransport({ timeoutMs: options.requestTimeoutMs, userAgent: `credwatch/${VERSION}` });
  }

  /** Makes sure a token is available: logs in (once, shared through the token store) unless a static token is set. */
  async authenticate(): Promise<void> {
    await this.currentToken();
  }

  /**
   * Pages of users (`size` at most 100), following `Link rel="next"` or `X-Total-Count`. One page in
   * memory at a time. `startPage` resumes a listing that a 429 interrupted.
   */
  async *listUserPages(options: { size?: number; startPage?: number } = {}): AsyncGenerator<LeafUserPage> {
    const size = Math.min(100, Math.max(1, Math.floor(options.size ?? DEFAULT_PAGE_SIZE)));
    let page = Math.max(0, Math.floor(options.startPage ?? 0));
    for (;;) {
      const response = await this.request({
        call: 'list_users',
        method: 'GET',
        url: `${this.userManagement}/users`,
        searchParams: { page, size },
        auth: true,
      });
      const body = this.parseJson(response, 'list_users');
      const parsed = parseUsersPage(body);
      if (parsed === undefined) throw this.badResponse('list_users', response, 'expected a JSON array of users');
      if (parsed.skipped > 0) this.options.logger?.warn({ page, skipped: parsed.skipped }, 'Leaf users without a usable id were skipped');
      const total = parseTotalCount(response.headers['x-total-count']);
      yield { users: parsed.users, page, total, skipped: parsed.skipped };
      const received = parsed.users.length + parsed.skipped;
      const next = this.nextPage(response.headers.link, page, size, received, total);
      if (next === undefined || received === 0) return;
      if (next <= page) throw this.badResponse('list_users', response, `Link rel="next" points back to page ${next}`);
      page = next;
    }
  }

  /** Every user, one at a time (pages of 100 behind the scenes). */
  async *listUsers(): AsyncGenerator<LeafUser> {
    for await (const page of this.listUserPages({ size: DEFAULT_PAGE_SIZE })) yield* page.users;
  }

  /**
   * The user's credential for a provider, without its tokens, or `{connected: false}` when Leaf answers
   * 404. Any other body that is not a credential (empty, HTML, `null`) is LEAF_BAD_RESPONSE, never "not
   * connected": that would ask a grower to connect on a glitch.
   */
  async getCredential(provider: ProviderId, userId: string): Promise<CredentialLookup> {
    let response: HttpAnswer;
    try {
      response = await this.request({ call: 'get_credential', method: 'GET', url: this.credentialUrl(provider, userId), auth: true });
    } catch (error) {
      if (error instanceof LeafError && error.code === 'LEAF_NOT_FOUND') return { connected: false };
      throw error;
    }
    const credential = parseCredential(this.parseJson(response, 'get_credential'));
    if (credential === undefined) throw this.badResponse('get_credential', response, 'expected a credential object with an id');
    return { connected: true, credential };
  }

  /**
   * The credential's events, normalised, oldest first, without repeated ids. Parsed and normalised in
   * slices that yield to the event loop in between; 404 → LEAF_NOT_FOUND (the credential is gone).
   */
  async getEvents(provider: ProviderId, userId: string): Promise<CredentialEvent[]> {
    const response = await this.request({
      call: 'get_events',
      method: 'GET',
      url: `${this.credentialUrl(provider, userId)}/events`,
      auth: true,
    });
    let body: unknown[] | undefined;
    try {
      body = await parseJsonArrayInChunks(response.body);
    } catch {
      throw this.badResponse('get_events', response, 'the body is not valid JSON');
    }
    if (body === undefined) throw this.badResponse('get_events', response, 'expected a JSON array of events');
    return normalizeEventsInChunks(body);
  }

  /** Leaf's registered alert webhooks (secrets are not kept). */
  async listAlertWebhooks(): Promise<AlertWebhook[]> {
    const response = await this.request({ call: 'list_alert_webhooks', method: 'GET', url: this.alertWebhooks, auth: true });
    const body = this.parseJson(response, 'list_alert_webhooks');
    if (!Array.isArray(body)) throw this.badResponse('list_alert_webhooks', response, 'expected a JSON array of webhooks');
    return body.map(parseAlertWebhook).filter((w): w is AlertWebhook => w !== undefined);
  }

  /** Registers an alert webhook. A second listener for an event fails with LEAF_REQUEST_REJECTED, errorKey `eventRegisteredTwice`. */
  async createAlertWebhook(input: { events: string[]; name: string; secret: string; url: string }): Promise<AlertWebhook> {
    const json = { events: input.events, name: input.name, secret: input.secret, url: input.url };
    const response = await this.request({ call: 'create_alert_webhook', method: 'POST', url: this.alertWebhooks, json, auth: true });
    const webhook = parseAlertWebhook(this.parseJson(response, 'create_alert_webhook'));
    if (webhook === undefined) throw this.badResponse('create_alert_webhook', response, 'expected the created webhook with an id');
    return webhook;
  }

  /** Deletes an alert webhook; LEAF_NOT_FOUND when it does not exist. */
  async deleteAlertWebhook(id: string): Promise<void> {
    await this.request({
      call: 'delete_alert_webhook',
      method: 'DELETE',
      url: `${this.alertWebhooks}/${encodeURIComponent(id)}`,
      auth: true,
    });
  }

  /** Aborts waits and in-flight requests and closes the keep-alive sockets. */
  close(): void {
    this.closing.abort(new Error('Leaf client closed'));
    this.http.close();
  }

  private credentialUrl(provider: ProviderId, userId: string): string {
    return `${this.userManagement}/users/${encodeURIComponent(userId)}/${PROVIDERS[provider].segment}`;
  }

  private nextPage(
    header: string | string[] | undefined,
    page: number,
    size: number,
    received: number,
    total: number | undefined,
  ): number | undefined {
    const link = Array.isArray(header) ? header.join(',') : header;
    if (link !== undefined && link.trim() !== '') {
      const url = nextLink(link);
      if (url === undefined) return undefined;
      const value = new URL(url, `${this.userManagement}/users`).searchParams.get('page');
      return value !== null && /^\d+$/.test(value) ? Number(value) : page + 1;
    }
    if (total !== undefined) return (page + 1) * size < total ? page + 1 : undefined;
    return received >= size ? page + 1 : undefined;
  }

  private canLogin(): boolean {
    return this.options.token === undefined && this.options.username !== undefined && this.options.password !== undefined;
  }

  private async currentToken(): Promise<string> {
    if (this.options.token !== undefined) return this.options.token;
    if (!this.canLogin()) {
      throw new LeafError('LEAF_AUTH_FAILED', 'no Leaf credentials configured: set LEAF_TOKEN, or LEAF_USERNAME and LEAF_PASSWORD', {
        operation: 'authenticate',
      });
    }
    return this.options.tokenStore.obtain(this.login);
  }

  private readonly login = async (): Promise<string> => {
    const json = { username: this.options.username, password: this.options.password, rememberMe: 'true' };
    const response = await this.request({
      call: 'authenticate',
      method: 'POST',
      url: `${this.apiUrl}/api/authenticate`,
      json,
      auth: false,
    });
    const body = this.parseJson(response, 'authenticate');
    const token = typeof body === 'object' && body !== null ? (body as { id_token?: unknown }).id_token : undefined;
    if (typeof token !== 'string' || token === '') throw this.badResponse('authenticate', response, 'expected {"id_token": "..."}');
    this.options.logger?.info('logged in to Leaf');
    return token;
  };

  /** Sends one logical request: budget, token, retries of transient failures, one renewal on 401. Resolves with a 2xx only. */
  private async request(spec: RequestSpec): Promise<HttpAnswer> {
    const signal = this.closing.signal;
    let token = spec.auth ? await this.currentToken() : undefined;
    let attempt = 0;
    let renewed = false;
    for (;;) {
      const slotMs = await this.whileOpen(spec.call, this.options.budget.acquire(signal));
      const started = performance.now();
      let response: HttpAnswer;
      try {
        response = await this.http.send(
          {
            method: spec.method,
            url: spec.url,
            searchParams: spec.searchParams,
            json: spec.json,
            headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
          },
          { slotMs, onSent: this.onSent },
        );
      } catch (error) {
        // Never keep the transport's error as it is: only its message (redacted) and system code.
        this.record(spec.call, undefined, started);
        const cause = SafeCause.from(error);
        if (signal.aborted) throw this.closedError(spec.call);
        if (attempt < this.options.maxRetries) {
          await this.backoff(spec.call, attempt, undefined, cause.code ?? cause.message);
          attempt += 1;
          continue;
        }
        const what =
          cause.code === 'ETIMEDOUT'
            ? `timed out after ${this.options.requestTimeoutMs} ms`
            : `could not be reached (${cause.code ?? cause.message})`;
        throw new LeafError('LEAF_UNAVAILABLE', `Leaf ${spec.call} ${what}, ${attempt + 1} attempt(s)`, { operation: spec.call, cause });
      }
      const status = response.statusCode;
      this.record(spec.call, status, started);
      if (status >= 200 && status < 300) return response;

      if (status === 401 && spec.auth && !renewed && this.canLogin()) {
        // The token expired or was revoked: renew once (shared: the store logs in once for all callers).
        renewed = true;
        token = await this.options.tokenStore.obtain(this.login, token);
        continue;
      }
      if (spec.call === 'authenticate' && (status === 404 || status === 405)) {
        // No login endpoint there: the base URL is wrong, not the password.
        throw new LeafError(
          'LEAF_NOT_FOUND',
          `Leaf's login URL answered HTTP ${status}: check LEAF_API_URL (${baseForMessage(this.apiUrl)}); it must be Leaf's base URL such as https://api.withleaf.io, without a path`,
          { operation: spec.call, status },
        );
      }
      if (status === 401 || (spec.call === 'authenticate' && status >= 400 && status < 500 && status !== 429)) {
        const detail =
          spec.call === 'authenticate'
            ? 'Leaf refused the username/password'
            : renewed
              ? 'Leaf refused a freshly renewed token'
              : 'Leaf refused the token';
        throw new LeafError('LEAF_AUTH_FAILED', `${detail} (${spec.call}: HTTP ${status})`, { operation: spec.call, status });
      }
      const retryAfterMs = parseRetryAfter(response.headers['retry-after'], Date.now());
      if (status === 429) {
        const wait = retryAfterMs ?? 1000;
        await this.options.budget.pauseFor(wait);
        throw new LeafError('LEAF_RATE_LIMITED', `Leaf ${spec.call} answered 429; retry after ${wait} ms`, {
          operation: spec.call,
          status,
          retryAfterMs: wait,
        });
      }
      if (status >= 500 || status === 408) {
        const tooLong = retryAfterMs !== undefined && retryAfterMs > (this.options.maxRetryAfterWaitMs ?? 30_000);
        if (attempt < this.options.maxRetries && !tooLong) {
          await this.backoff(spec.call, attempt, status, undefined, retryAfterMs);
          attempt += 1;
          continue;
        }
        throw new LeafError('LEAF_UNAVAILABLE', `Leaf ${spec.call} answered HTTP ${status}, ${attempt + 1} attempt(s)`, {
          operation: spec.call,
          status,
          retryAfterMs,
          excerpt: bodyExcerpt(response.body),
        });
      }
      const leafError = parseLeafErrorBody(this.tryJson(response.body));
      const said = leafError.message === undefined ? '' : `: ${excerpt(leafError.message, 160)}`;
      if (status === 404) throw new LeafError('LEAF_NOT_FOUND', `Leaf ${spec.call} answered 404${said}`, { operation: spec.call, status });
      throw new LeafError('LEAF_REQUEST_REJECTED', `Leaf ${spec.call} rejected the request with HTTP ${status}${said}`, {
        operation: spec.call,
        status,
        errorKey: leafError.errorKey,
        excerpt: bodyExcerpt(response.body),
      });
    }
  }

  private async backoff(
    call: LeafCall,
    attempt: number,
    status: number | undefined,
    reason?: string,
    retryAfterMs?: number,
  ): Promise<void> {
    const delayMs = Math.max(backoffDelay(attempt, this.options.retry), retryAfterMs ?? 0);
    this.options.logger?.warn({ operation: call, status, reason, attempt: attempt + 1, delayMs }, 'Leaf request failed; retrying');
    await this.whileOpen(call, sleep(delayMs, this.closing.signal));
  }

  /** A request reached its socket this long after its slot: the budget moves later slots if that could overrun a window. */
  private readonly onSent = (latenessMs: number): void => {
    if (latenessMs <= LATE_SEND_FREE_MS) return;
    void this.options.budget.sentLate(latenessMs).then((moved) => {
      if (moved) this.options.metrics?.leafLateSends.inc();
    });
  };

  /** Awaits a wait (budget, backoff); once the client is closed, fails with LEAF_UNAVAILABLE instead. */
  private async whileOpen<T>(call: LeafCall, wait: Promise<T>): Promise<T> {
    try {
      return await wait;
    } catch (error) {
      if (this.closing.signal.aborted) throw this.closedError(call);
      throw error;
    }
  }

  private closedError(call: LeafCall): LeafError {
    return new LeafError('LEAF_UNAVAILABLE', `Leaf ${call}: the client was closed`, { operation: call });
  }

  private record(call: LeafCall, status: number | undefined, startedMs: number): void {
    const metrics = this.options.metrics;
    if (metrics === undefined || !isMetricOperation(call)) return;
    metrics.leafRequests.inc({ operation: call, status_class: statusClass(status) });
    metrics.leafRequestDuration.observe({ operation: call }, (performance.now() - startedMs) / 1000);
  }

  private tryJson(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }

  private parseJson(response: HttpAnswer, call: LeafCall): unknown {
    try {
      return JSON.parse(response.body);
    } catch {
      throw this.badResponse(call, response, 'the body is not valid JSON');
    }
  }

  private badResponse(call: LeafCall, response: HttpAnswer, problem: string): LeafError {
    return new LeafError('LEAF_BAD_RESPONSE', `Leaf ${call} answered HTTP ${response.statusCode} with an unexpected body: ${problem}`, {
      operation: call,
      status: response.statusCode,
      excerpt: bodyExcerpt(response.body),
    });
  }
}

/** The configured base URL without user info, for an error message. */
function baseForMessage(apiUrl: string): string {
  try {
    const u = new URL(apiUrl);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/+$/, '');
  } catch {
    return 'unparsable URL';
  }
}
