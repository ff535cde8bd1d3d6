import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import { CATEGORIES, type Category } from '../classify/categories.js';
import type { ProviderId } from '../core/providers.js';
import { LEAF_OPERATIONS, STATUS_CLASSES, type LeafOperation, type StatusClass } from '../core/leaf-operations.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../core/webhook-event-types.js';
import { ENDPOINT_STATES } from '../core/webhook-event-types.js';
import { CREDENTIAL_FETCH_REASONS, type CredentialFetchReason } from '../core/credential-fetch-reasons.js';

export const POLL_OUTCOMES = ['ok', 'leaf_error', 'rate_limited', 'not_connected'] as const;
export type PollOutcome = (typeof POLL_OUTCOMES)[number];
export const DELIVERY_OUTCOMES = ['delivered', 'retrying', 'failed', 'dead_lettered'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
/** Outcomes of Leaf's alert webhooks at POST /leaf/alerts (`invalid`: unreadable body or missing fields). */
export const LEAF_ALERT_OUTCOMES = ['accepted', 'bad_signature', 'invalid', 'unknown_credential', 'ping'] as const;
export type LeafAlertOutcome = (typeof LEAF_ALERT_OUTCOMES)[number];

/**
 * A counter whose label values the compiler checks (prom-client checks only label names): each label is a
 * union zeroed from its list above, or an endpoint name bound by configuration.
 */
export type LabelledCounter<L extends Record<string, string>> = Omit<Counter<Extract<keyof L, string>>, 'inc'> & {
  inc(labels: L, value?: number): void;
};
/** A histogram whose label values the compiler checks. */
export type LabelledHistogram<L extends Record<string, string>> = Omit<Histogram<Extract<keyof L, string>>, 'observe' | 'startTimer'> & {
  observe(labels: L, value: number): void;
  startTimer(labels: L): () => number;
};

/** The capacity report's figures the gauges export (src/monitor/capacity.ts computes them). */
export interface CapacityFigures {
  fullPassSeconds: number;
  achievableIntervalSeconds: number;
  configuredIntervalSeconds: number;
  requestsPerPoll: number;
  utilization: number | null;
}

/** Values read from shared state at scrape time (the same on every replica). */
export interface ScrapeSources {
  /** Credentials per provider and category. */
  credentialCounts(): Promise<Array<{ provider: string; category: string; count: number }>>;
  /** Seconds since the least recently polled credential of each provider was polled. */
  oldestPollAges(): Promise<Array<{ provider: string; ageSeconds: number }>>;
  /** Unix seconds of the last finished sweep, or undefined. */
  lastSweepSuccess(): Promise<number | undefined>;
  /** Job counts per queue and state. */
  queueCounts(): Promise<Array<{ queue: string; state: string; count: number }>>;
  /** Dead letters per endpoint. */
  deadLetters(): Promise<Array<{ endpoint: string; count: number }>>;
  /** Credentials in provider_unavailable for longer than CREDWATCH_PROVIDER_UNAVAILABLE_AFTER, per provider. */
  providerUnavailableOverdue?(): Promise<Array<{ provider: string; count: number }>>;
  /** State (healthy / failing / disabled) and undelivered backlog of each webhook endpoint. */
  webhookEndpoints?(): Promise<Array<{ endpoint: string; state: string; backlog: number }>>;
  /** The capacity report: what the Leaf budget allows (one read shared by the capacity gauges of a scrape). */
  capacity?(): Promise<CapacityFigures | undefined>;
  /** This process's Leaf budget counters: slots dropped because their holder woke late or a 429 paused the budget. */
  budgetStats?(): { lateWakes: number; pausedDrops: number };
  /** Open fleet incidents and notifications waiting (held by an incident, or settling). */
  incidentGauges?(): Promise<{
    open: number;
    held: number;
    settling: number;
    incidents: Array<{ id: string; signature: string; category: string; held: number }>;
  }>;
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const LATENCY_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 86_400];

/**
 * Creates every credwatch metric on the given registry. Nothing registers at import time, so tests and
 * several daemons in one process never share counters.
 */
export function createMetrics(
  registry: Registry,
  options: { providers: readonly ProviderId[]; endpoints?: readonly string[]; version: string; defaultMetrics?: boolean },
) {
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  let sources: ScrapeSources | undefined;
  const registers = [registry];

  const credentials = new Gauge({
    name: 'credwatch_credentials',
    help: 'Credentials currently in each category, read from the shared state at scrape time.',
    labelNames: ['provider', 'category'] as const,
    registers,
    async collect() {
      if (!sources) return;
      const rows = await sources.credentialCounts();
      for (const provider of options.providers) for (const category of CATEGORIES) this.set({ provider, category }, 0);
      for (const row of rows) this.set({ provider: row.provider, category: row.category }, row.count);
    },
  });
  const transitions: LabelledCounter<{ provider: ProviderId; from: Category | 'none'; to: Category }> = new Counter({
    name: 'credwatch_credential_transitions_total',
    help: 'Category changes of credentials, by provider and categories left and entered.',
    labelNames: ['provider', 'from', 'to'] as const,
    registers,
  });
  const eventsClassified: LabelledCounter<{ provider: ProviderId; category: Category }> = new Counter({
    name: 'credwatch_events_classified_total',
    help: 'New provider events classified, by the category each got.',
    labelNames: ['provider', 'category'] as const,
    registers,
  });
  const polls: LabelledCounter<{ provider: ProviderId; outcome: PollOutcome }> = new Counter({
    name: 'credwatch_polls_total',
    help: 'Credential polls by outcome.',
    labelNames: ['provider', 'outcome'] as const,
    registers,
  });
  const pollDuration: LabelledHistogram<{ provider: ProviderId }> = new Histogram({
    name: 'credwatch_poll_duration_seconds',
    help: 'Time one credential poll took: Leaf requests, classification and state write.',
    labelNames: ['provider'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const leafRequests: LabelledCounter<{ operation: LeafOperation; status_class: StatusClass }> = new Counter({
    name: 'credwatch_leaf_requests_total',
    help: 'Requests sent to Leaf, by operation and status class.',
    labelNames: ['operation', 'status_class'] as const,
    registers,
  });
  const leafRequestDuration: LabelledHistogram<{ operation: LeafOperation }> = new Histogram({
    name: 'credwatch_leaf_request_duration_seconds',
    help: 'Duration of requests to Leaf.',
    labelNames: ['operation'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  new Gauge({
    name: 'credwatch_oldest_poll_age_seconds',
    help: 'Age of the least recently polled credential: the "are we still watching" signal.',
    labelNames: ['provider'] as const,
    registers,
    async collect() {
      if (!sources) return;
      for (const row of await sources.oldestPollAges()) this.set({ provider: row.provider }, row.ageSeconds);
    },
  });
  new Gauge({
    name: 'credwatch_sweep_last_success_timestamp_seconds',
    help: 'Unix time of the last sweep that listed every Leaf user.',
    registers,
    async collect() {
      if (!sources) return;
      const ts = await sources.lastSweepSuccess();
      if (ts !== undefined) this.set(ts);
    },
  });
  new Gauge({
    name: 'credwatch_provider_unavailable_overdue_credentials',
    help: 'Credentials in provider_unavailable for longer than CREDWATCH_PROVIDER_UNAVAILABLE_AFTER (default 6h).',
    labelNames: ['provider'] as const,
    registers,
    async collect() {
      if (!sources?.providerUnavailableOverdue) return;
      for (const row of await sources.providerUnavailableOverdue()) this.set({ provider: row.provider }, row.count);
    },
  });
  const leafLateSends = new Counter({
    name: 'credwatch_leaf_late_sends_total',
    help: "Leaf requests that reached their socket (or whose process paused right after the write) so long after their budget slot that the later slots had to move, so that Leaf's one-second window never holds more than the rate; one process's shifts within a second count once, the largest.",
    registers,
  });
  // Read from the budget's own counters at each scrape; the counter adds what they gained since.
  const droppedSeen = { late_wake: 0, paused: 0 };
  const leafBudgetDrops = new Counter({
    name: 'credwatch_leaf_budget_slots_dropped_total',
    help: `Budget slots this process reserved and did not use, by reason: late_wake (its holder woke more than the late-wake tolerance after it: 25 ms at most, less at high rates, where sending late would cost more than the slot) or paused (a 429 paused the budget). Each is a slot of the rate lost.`,
    labelNames: ['reason'] as const,
    registers,
    collect() {
      const stats = sources?.budgetStats?.();
      if (!stats) return;
      for (const [reason, now] of [
        ['late_wake', stats.lateWakes],
        ['paused', stats.pausedDrops],
      ] as const) {
        this.inc({ reason }, Math.max(0, now - droppedSeen[reason]));
        droppedSeen[reason] = Math.max(droppedSeen[reason], now);
      }
    },
  });
  const credentialFetches: LabelledCounter<{ reason: CredentialFetchReason }> = new Counter({
    name: 'credwatch_credential_fetches_total',
    help: "Fetches of Leaf's credential object by polls, by why the cached copy was not trusted (see docs/operations.md).",
    labelNames: ['reason'] as const,
    registers,
  });
  // The capacity report's figures: one gauge each, read from the one report a scrape fetches.
  const capacityGauges: Array<{ name: string; help: string; value: (r: CapacityFigures) => number | null }> = [
    {
      name: 'credwatch_poll_capacity_seconds',
      help: 'Shortest full pass over every credential that the Leaf request budget allows, at the measured requests per poll.',
      value: (r) => r.fullPassSeconds,
    },
    {
      name: 'credwatch_poll_achievable_interval_seconds',
      help: 'The poll interval credwatch can keep: CREDWATCH_POLL_INTERVAL, or the capacity when the budget allows no less.',
      value: (r) => r.achievableIntervalSeconds,
    },
    {
      name: 'credwatch_poll_interval_seconds',
      help: 'CREDWATCH_POLL_INTERVAL: how often each healthy credential should be polled.',
      value: (r) => r.configuredIntervalSeconds,
    },
    {
      name: 'credwatch_poll_requests_per_poll',
      help: 'Leaf requests per poll over the last 5 minutes (1 in steady state, 2 when the credential object is fetched).',
      value: (r) => r.requestsPerPoll,
    },
    {
      name: 'credwatch_budget_utilization',
      help: 'Share of the Leaf request budget (CREDWATCH_LEAF_RPS) used over the last minute, by every process.',
      value: (r) => r.utilization,
    },
  ];
  for (const { name, help, value } of capacityGauges) {
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const report = await sources?.capacity?.();
        const v = report === undefined ? null : value(report);
        if (v !== null) this.set(v);
      },
    });
  }
  const sweepDuration = new Gauge({
    name: 'credwatch_sweep_duration_seconds',
    help: 'How long the last finished sweep took to list users and enqueue their polls.',
    registers,
  });
  const detectionLatency: LabelledHistogram<{ provider: ProviderId }> = new Histogram({
    name: 'credwatch_detection_latency_seconds',
    help: "Time from a provider event's createdDate to its classification by credwatch.",
    labelNames: ['provider'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const webhookDeliveries: LabelledCounter<{ endpoint: string; event: WebhookEventType; outcome: DeliveryOutcome }> = new Counter({
    name: 'credwatch_webhook_deliveries_total',
    help: 'Webhook delivery attempts by endpoint, event type and outcome.',
    labelNames: ['endpoint', 'event', 'outcome'] as const,
    registers,
  });
  const webhookDeliveryDuration = new Histogram({
    name: 'credwatch_webhook_delivery_duration_seconds',
    help: 'Duration of webhook delivery attempts.',
    labelNames: ['endpoint'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  new Gauge({
    name: 'credwatch_webhook_dead_letters',
    help: 'Webhook deliveries that exhausted their retries and wait in the dead-letter list.',
    labelNames: ['endpoint'] as const,
    registers,
    async collect() {
      if (!sources) return;
      for (const endpoint of options.endpoints ?? []) this.set({ endpoint }, 0);
      for (const row of await sources.deadLetters()) this.set({ endpoint: row.endpoint }, row.count);
    },
  });
  const webhookEndpointDisabled = new Gauge({
    name: 'credwatch_webhook_endpoint_disabled',
    help: '1 when an endpoint was disabled (it answered 410), else 0.',
    labelNames: ['endpoint'] as const,
    registers,
  });
  new Gauge({
    name: 'credwatch_webhook_endpoint_state',
    help: '1 for the current state of each webhook endpoint (healthy, failing: circuit open, disabled: 410), else 0.',
    labelNames: ['endpoint', 'state'] as const,
    registers,
    async collect() {
      if (!sources?.webhookEndpoints) return;
      for (const row of await sources.webhookEndpoints())
        for (const state of ENDPOINT_STATES) this.set({ endpoint: row.endpoint, state }, row.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'credwatch_webhook_backlog',
    help: 'Webhook deliveries of each endpoint not yet delivered: queued, retrying, waiting for the endpoint to recover, or in flight.',
    labelNames: ['endpoint'] as const,
    registers,
    async collect() {
      if (!sources?.webhookEndpoints) return;
      for (const row of await sources.webhookEndpoints()) this.set({ endpoint: row.endpoint }, row.backlog);
    },
  });
  new Gauge({
    name: 'credwatch_queue_jobs',
    help: 'Jobs per queue and state.',
    labelNames: ['queue', 'state'] as const,
    registers,
    async collect() {
      if (!sources) return;
      for (const row of await sources.queueCounts()) this.set({ queue: row.queue, state: row.state }, row.count);
    },
  });
  new Gauge({
    name: 'credwatch_fleet_incidents_open',
    help: 'Fleet incidents open: one failure signature on many credentials at once (docs/webhooks.md).',
    registers,
    async collect() {
      const g = await sources?.incidentGauges?.();
      if (g) this.set(g.open);
    },
  });
  new Gauge({
    name: 'credwatch_held_notifications',
    help: 'credential.action_required notifications not sent yet: held by an open incident, or settling (waiting CREDWATCH_INCIDENT_SETTLE).',
    labelNames: ['reason'] as const,
    registers,
    async collect() {
      const g = await sources?.incidentGauges?.();
      if (!g) return;
      this.set({ reason: 'incident' }, g.held);
      this.set({ reason: 'settling' }, g.settling);
    },
  });
  new Gauge({
    name: 'credwatch_fleet_incident',
    help: 'One series per open fleet incident (at most 50), value = notifications it holds; labels name its signature for the alert.',
    labelNames: ['incident', 'signature', 'category'] as const,
    registers,
    async collect() {
      const g = await sources?.incidentGauges?.();
      if (!g) return;
      this.reset();
      for (const i of g.incidents) this.set({ incident: i.id, signature: i.signature, category: i.category }, i.held);
    },
  });
  const leafAlerts: LabelledCounter<{ outcome: LeafAlertOutcome }> = new Counter({
    name: 'credwatch_leaf_alerts_total',
    help: "Leaf's own alert webhooks received, by outcome (accepted, bad_signature, invalid, unknown_credential, ping).",
    labelNames: ['outcome'] as const,
    registers,
  });
  const redisErrors = new Counter({
    name: 'credwatch_redis_errors_total',
    help: 'Redis connection errors and reconnect attempts seen by this process.',
    registers,
  });
  const buildInfo = new Gauge({
    name: 'credwatch_build_info',
    help: 'Always 1; labels tell the running version.',
    labelNames: ['version', 'node_version'] as const,
    registers,
  });
  buildInfo.set({ version: options.version, node_version: process.version }, 1);

  // Initialise known label sets to 0 so rate() works from the first scrape.
  for (const provider of options.providers) {
    for (const category of CATEGORIES) eventsClassified.inc({ provider, category }, 0);
    for (const outcome of POLL_OUTCOMES) polls.inc({ provider, outcome }, 0);
  }
  for (const operation of LEAF_OPERATIONS) for (const sc of STATUS_CLASSES) leafRequests.inc({ operation, status_class: sc }, 0);
  for (const endpoint of options.endpoints ?? []) {
    for (const event of WEBHOOK_EVENT_TYPES)
      for (const outcome of DELIVERY_OUTCOMES) webhookDeliveries.inc({ endpoint, event, outcome }, 0);
    webhookEndpointDisabled.set({ endpoint }, 0);
  }
  for (const outcome of LEAF_ALERT_OUTCOMES) leafAlerts.inc({ outcome }, 0);
  for (const reason of CREDENTIAL_FETCH_REASONS) credentialFetches.inc({ reason }, 0);
  redisErrors.inc(0);

  return {
    registry,
    /** Connects the scrape-time gauges to the shared state (called once the store exists). */
    setScrapeSources(s: ScrapeSources): void {
      sources = s;
    },
    credentials,
    transitions,
    eventsClassified,
    polls,
    pollDuration,
    leafRequests,
    leafRequestDuration,
    credentialFetches,
    leafLateSends,
    leafBudgetDrops,
    sweepDuration,
    detectionLatency,
    webhookDeliveries,
    webhookDeliveryDuration,
    webhookEndpointDisabled,
    leafAlerts,
    redisErrors,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
