import { createHmac } from 'node:crypto';
import type { Rng } from './prng.js';
import { rngUuid } from './prng.js';
import type { SimCredential, SimStats } from './types.js';

/** The two credential alert types Leaf sends. */
export type AlertType = 'credentialsUnauthenticated' | 'credentialsLimitedPermission';

/** A registered webhook, as `GET /webhooks` shows it (the secret is never shown). */
export interface WebhookView {
  id: string;
  name: string;
  url: string;
  events: string[];
  createdDate: string;
}

/** One delivery the simulator made or gave up on (for `GET /_sim/alerts`). */
export interface DeliveryRecord {
  kind: 'confirmation' | AlertType;
  webhookId: string;
  url: string;
  attempts: number;
  outcome: 'delivered' | 'failed' | 'pending';
  lastStatus: number | null;
  payload: Record<string, string>;
}

/** Why a registration was refused, as a Leaf error. */
export interface RegistrationError {
  status: number;
  message: string;
  errorKey: string;
}

/**
 * Serialises a flat object the way Leaf signs it: compact JSON with a space after `:` and `,`.
 * Receivers must verify these exact bytes, never a re-serialisation.
 */
export function leafJson(value: Record<string, string>): string {
  return `{${Object.entries(value)
    .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
    .join(', ')}}`;
}

/** base64(HMAC-SHA256(secret, body)): the `X-Leaf-Signature` header value. */
export function leafSignature(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('base64');
}

const HISTORY_LIMIT = 200;

/** Leaf's alert webhooks: one webhook per event, signed deliveries, short retries. */
export class AlertCenter {
  private readonly hooks = new Map<string, WebhookView & { secret: string }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inflight = new AbortController();
  private readonly history: DeliveryRecord[] = [];
  private closed = false;

  constructor(
    private readonly rng: Rng,
    private readonly now: () => number,
    private readonly stats: SimStats,
    private readonly retryDelaysMs: readonly number[] = [100, 500, 2000],
    private readonly timeoutMs = 5000,
  ) {}

  /** Registers a webhook from a `POST /webhooks` body, or says why not. */
  register(body: unknown): WebhookView | RegistrationError {
    const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const { events, url, secret, name } = b;
    if (!Array.isArray(events) || events.length === 0 || !events.every((e): e is string => typeof e === 'string' && e !== '')) {
      return { status: 400, message: 'events must be a non-empty array of event names', errorKey: 'invalidEvents' };
    }
    if (typeof url !== 'string' || !/^https?:\/\/\S+$/.test(url)) {
      return { status: 400, message: 'url must be an http(s) URL', errorKey: 'invalidUrl' };
    }
    if (typeof secret !== 'string' || secret === '') return { status: 400, message: 'secret is required', errorKey: 'invalidSecret' };
    for (const hook of this.hooks.values()) {
      const taken = events.find((e) => hook.events.includes(e));
      if (taken !== undefined) {
        return { status: 400, message: `Event ${taken} is already registered by webhook ${hook.id}`, errorKey: 'eventRegisteredTwice' };
      }
    }
    const hook = {
      id: rngUuid(this.rng),
      name: typeof name === 'string' ? name : 'webhook',
      url,
      events: [...new Set(events)],
      createdDate: new Date(this.now()).toISOString(),
      secret,
    };
    this.hooks.set(hook.id, hook);
    this.deliver(hook, 'confirmation', { message: 'confirmation of webhook upon registration' });
    return this.view(hook);
  }

  list(): WebhookView[] {
    return [...this.hooks.values()].map((h) => this.view(h));
  }

  remove(id: string): boolean {
    return this.hooks.delete(id);
  }

  /** Deliveries made so far, newest last (at most 200). */
  deliveries(): DeliveryRecord[] {
    return this.history.map((d) => ({ ...d }));
  }

  /** Sends the alert to the webhook listening to `type`, if any. */
  notify(type: AlertType, credential: SimCredential, message: string): void {
    const payload = {
      type,
      provider: 'Panorama',
      credentialId: credential.id,
      credential: 'PanoramaCredentials',
      status: credential.status,
      message,
      timestamp: new Date(this.now()).toISOString(),
    };
    for (const hook of this.hooks.values()) if (hook.events.includes(type)) this.deliver(hook, type, payload);
  }

  /** Cancels pending retries and in-flight deliveries. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.inflight.abort();
  }

  private view(hook: WebhookView): WebhookView {
    return { id: hook.id, name: hook.name, url: hook.url, events: [...hook.events], createdDate: hook.createdDate };
  }

  private deliver(hook: WebhookView & { secret: string }, kind: DeliveryRecord['kind'], payload: Record<string, string>): void {
    // Serialise once, sign those bytes, send those bytes.
    const body = leafJson(payload);
    const signature = leafSignature(hook.secret, body);
    const record: DeliveryRecord = { kind, webhookId: hook.id, url: hook.url, attempts: 0, outcome: 'pending', lastStatus: null, payload };
    this.history.push(record);
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
    const attempt = async (): Promise<void> => {
      if (this.closed) return;
      record.attempts += 1;
      let ok = false;
      try {
        const response = await fetch(hook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-leaf-signature': signature },
          body,
          signal: AbortSignal.any([this.inflight.signal, AbortSignal.timeout(this.timeoutMs)]),
        });
        record.lastStatus = response.status;
        await response.arrayBuffer().catch(() => undefined);
        ok = response.ok;
      } catch {
        // Network error, timeout or close(): handled as a failed attempt below.
      }
      if (this.closed) return;
      if (ok) {
        record.outcome = 'delivered';
        if (kind === 'confirmation') this.stats.alerts.confirmations += 1;
        else this.stats.alerts.sent += 1;
        return;
      }
      const delay = this.retryDelaysMs[record.attempts - 1];
      if (delay === undefined) {
        record.outcome = 'failed';
        this.stats.alerts.failed += 1;
        return;
      }
      this.stats.alerts.retried += 1;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void attempt();
      }, delay);
      this.timers.add(timer);
    };
    void attempt();
  }
}
