import type { BudgetStats } from '../leaf/budget-slots.js';
import type { Config } from '../config.js';
import type { ScrapeSources } from '../metrics/metrics.js';
import type { CredentialStore } from '../monitor/credential-store.js';
import type { WebhookService } from '../webhooks/webhook-service.js';
import type { DaemonQueues } from './queues.js';
import type { CapacityReader, CapacityReport } from '../monitor/capacity.js';

/** What the gauges read from shared state at scrape time: the same on every replica. */
export function createScrapeSources(deps: {
  store: CredentialStore;
  queues: DaemonQueues;
  webhooks: WebhookService;
  monitor: Config['monitor'];
  capacity: CapacityReader;
  /** This process's Leaf budget (its dropped-slot counters). */
  budget?: { stats(): BudgetStats };
}): ScrapeSources {
  const { store, queues, webhooks, monitor, budget } = deps;
  // Four gauges read the capacity report on each scrape: one read serves them all.
  let capacityRead: { atMs: number; report: Promise<CapacityReport> } | undefined;
  const capacity = () => {
    const now = Date.now();
    if (capacityRead === undefined || now - capacityRead.atMs > 1000) capacityRead = { atMs: now, report: deps.capacity.read(now) };
    return capacityRead.report;
  };
  return {
    capacity,
    ...(budget ? { budgetStats: () => budget.stats() } : {}),
    credentialCounts: () => store.counts(),
    oldestPollAges: () => store.oldestPollAges(Date.now()),
    lastSweepSuccess: async () => {
      const info = await store.sweeps.info();
      return info.lastFinishedAt ? Date.parse(info.lastFinishedAt) / 1000 : undefined;
    },
    queueCounts: async () => {
      const rows: Array<{ queue: string; state: string; count: number }> = [];
      for (const queue of queues.all()) {
        const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
        rows.push({ queue: queue.name, state: 'waiting', count: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0) });
        for (const state of ['active', 'delayed', 'failed']) rows.push({ queue: queue.name, state, count: counts[state] ?? 0 });
      }
      return rows;
    },
    deadLetters: () => webhooks.deadLetterCounts(),
    providerUnavailableOverdue: () => store.countInCategorySince('provider_unavailable', Date.now() - monitor.providerUnavailableAfterMs),
    webhookEndpoints: () => webhooks.endpointHealth(),
    incidentGauges: () => webhooks.incidentGauges(),
  };
}
