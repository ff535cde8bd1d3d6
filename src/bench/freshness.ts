import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BUDGET_USABLE_SHARE } from '../monitor/capacity.js';
import { CredentialStore } from '../monitor/credential-store.js';
import { daemonEnv, deletePrefix, startDaemonChild, startSimChild, waitUntil, type BenchChild, type SimChild } from './processes.js';
import type { BenchContext } from './sections.js';

/** Sizes of the freshness section. */
export interface FreshnessSizes {
  users: number;
  /** The budget, and the simulator's strict one-second rate limit. */
  rps: number;
  /** Credentials broken during the measurement, at random times. */
  breaks: number;
  /** Worker processes beside the scheduler process. */
  workers: number;
}

/** The simulator's scheduling priority here (see startSimChild): its 429s must be the daemons' doing, not the bench host's. */
const SIM_PRIORITY = -10;

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

/** A loopback receiver of credwatch's webhooks: the first `credential.action_required` time per Leaf user. */
async function startReceiver(): Promise<{ url: string; firstActionRequired: Map<string, number>; close(): Promise<void> }> {
  const firstActionRequired = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type?: string; data?: { leafUserId?: string } };
        const user = body.data?.leafUserId;
        if (body.type === 'credential.action_required' && user !== undefined && !firstActionRequired.has(user))
          firstActionRequired.set(user, at);
      } catch {
        // Not JSON: not credwatch's; answered 2xx anyway so nothing retries.
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    firstActionRequired,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function createHealthyUsers(sim: SimChild, users: number): Promise<string[]> {
  const ids = Array.from({ length: users }, (_, i) => `fresh-${String(i).padStart(6, '0')}`);
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(
      ids.slice(i, i + 50).map(async (id) => {
        const res = await fetch(`${sim.url}/_sim/users`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            id,
            credential: { status: 'OK', clientEnvironment: 'PRODUCTION' },
            events: [{ statusCode: 200, body: '{"organizations":[]}' }],
          }),
        });
        if (!res.ok) throw new Error(`simulator refused user ${id}: ${res.status}`);
      }),
    );
  }
  return ids;
}

async function breakCredential(sim: SimChild, id: string): Promise<void> {
  const res = await fetch(`${sim.url}/_sim/users/${id}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ statusCode: 400, body: '{"__type":"NotAuthorizedException","message":"Refresh Token has expired"}' }]),
  });
  if (!res.ok) throw new Error(`simulator refused the break of ${id}: ${res.status}`);
}

/** Polls and Leaf requests the daemons wrote to their per-minute cost hash since `before`. */
async function pollCostSince(
  ctx: BenchContext,
  prefix: string,
  before: Record<string, string>,
): Promise<{ polls: number; requests: number }> {
  const now = await ctx.redis.client.hgetall(`${prefix}:pollcost`);
  let polls = 0;
  let requests = 0;
  for (const [field, value] of Object.entries(now)) {
    const delta = Number(value) - Number(before[field] ?? 0);
    if (field.startsWith('p')) polls += delta;
    else if (field.startsWith('r')) requests += delta;
  }
  return { polls, requests };
}

function gauge(text: string, name: string): number | null {
  const match = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return match ? Number(match[1]) : null;
}

/**
 * freshness: how soon a broken credential is noticed when the budget, not the interval, is the limit.
 * Healthy users, a simulator whose strict one-second window equals the budget, a poll interval shorter
 * than the budget allows; after the first pass, credentials break at random times and the time to their
 * `credential.action_required` webhook is measured (no Leaf alerts), beside the bound N × requests per
 * poll / budget.
 */
export async function freshnessSection(ctx: BenchContext, s: FreshnessSizes) {
  const sim = await startSimChild({ users: 0, seed: 4, latencyMs: 0, baseEnv: ctx.baseEnv, priority: SIM_PRIORITY, realtime: true });
  const receiver = await startReceiver();
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const children: BenchChild[] = [];
  try {
    ctx.progress(`freshness: creating ${s.users} healthy users`);
    const ids = await createHealthyUsers(sim, s.users);
    await sim.setFaults({ rateLimitRps: s.rps });
    const env = {
      ...ctx.baseEnv,
      ...daemonEnv({ simUrl: sim.url, redisUrl: ctx.redis.url, prefix, concurrency: 16, rps: s.rps }),
      // Three quarters of what a pass takes at this budget: the budget is the limit, as for a large fleet.
      CREDWATCH_POLL_INTERVAL: `${Math.max(1, Math.round((0.75 * s.users) / s.rps))}s`,
      CREDWATCH_FAILING_RECHECK_INTERVAL: `${Math.max(1, Math.round((0.75 * s.users) / s.rps))}s`,
      CREDWATCH_WEBHOOK_URL: receiver.url,
      CREDWATCH_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
      // Breaks are spread over minutes and unrelated: nothing for the incident detector to hold.
      CREDWATCH_INCIDENTS: 'false',
    };
    for (let i = 0; i < s.workers; i += 1) children.push(startDaemonChild(env, ['worker']));
    const scheduler = startDaemonChild(env, ['scheduler', 'worker', 'http']);
    children.push(scheduler);
    const metricsUrl = await waitUntil(
      'the scheduler to serve /metrics',
      async () => /\(metrics: (http:\/\/\S+)\)/.exec(scheduler.output())?.[1],
      {
        timeoutMs: 30_000,
        child: scheduler,
      },
    );
    const store = new CredentialStore(ctx.redis.client, prefix, { historyLimit: 50, providers: ['panorama'] });
    const firstPassStart = Date.now();
    await waitUntil(
      `the first pass over ${s.users} credentials`,
      async () => {
        const total = (await store.counts()).reduce((sum, r) => sum + r.count, 0);
        return total >= s.users ? true : undefined;
      },
      { timeoutMs: 3_600_000, everyMs: 500, child: scheduler },
    );
    const firstPassSeconds = (Date.now() - firstPassStart) / 1000;
    ctx.progress(`freshness: first pass in ${firstPassSeconds.toFixed(0)} s; measuring`);

    // Steady state from here: one pass at about N / budget seconds.
    const firstPassStats = await sim.stats();
    await sim.resetStats();
    const costBefore = await ctx.redis.client.hgetall(`${prefix}:pollcost`);
    const started = Date.now();
    const expectedPass = s.users / (s.rps * BUDGET_USABLE_SHARE);
    const breakWindowMs = 1.5 * expectedPass * 1000;
    const victims = [...ids].sort(() => Math.random() - 0.5).slice(0, s.breaks);
    const breakAt = victims.map(() => Math.random() * breakWindowMs).sort((a, b) => a - b);
    const brokenAt = new Map<string, number>();
    for (let i = 0; i < victims.length; i += 1) {
      const wait = started + (breakAt[i] ?? 0) - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const id = victims[i] as string;
      brokenAt.set(id, Date.now());
      await breakCredential(sim, id);
    }
    // Every break is noticed within about a pass; wait up to 1.5 passes after the last one.
    await waitUntil(
      'a webhook for every broken credential',
      async () => (victims.every((id) => receiver.firstActionRequired.has(id)) ? true : undefined),
      {
        timeoutMs: 1.5 * expectedPass * 1000 + 30_000,
        everyMs: 500,
        child: scheduler,
      },
    ).catch(() => undefined);
    const seconds = (Date.now() - started) / 1000;
    const stats = await sim.stats();
    const metrics = await (await fetch(metricsUrl)).text();
    const cost = await pollCostSince(ctx, prefix, costBefore);
    const latencies = victims.flatMap((id) => {
      const sent = receiver.firstActionRequired.get(id);
      const broke = brokenAt.get(id);
      return sent === undefined || broke === undefined ? [] : [(sent - broke) / 1000];
    });
    const r = stats.requests;
    const accepted = Object.values(r).reduce((sum, n) => sum + n, 0) - stats.rateLimited;
    const pollRequests = (r['get_events'] ?? 0) + (r['get_credential'] ?? 0);
    const requestsPerPoll = cost.polls > 0 ? pollRequests / cost.polls : Number.NaN;
    const bound = (s.users * requestsPerPoll) / s.rps;
    const p95 = percentile(latencies, 95);
    ctx.progress(
      `freshness: ${latencies.length}/${victims.length} detected, p50 ${percentile(latencies, 50).toFixed(1)} s, p95 ${p95.toFixed(1)} s ` +
        `(bound ${bound.toFixed(1)} s), ${requestsPerPoll.toFixed(3)} requests/poll, utilisation ${(accepted / (s.rps * seconds)).toFixed(3)}, ${stats.rateLimited} × 429`,
    );
    return {
      users: s.users,
      budget_rps: s.rps,
      worker_processes: s.workers + 1,
      simulator_priority: sim.priority,
      simulator_realtime: sim.realtime,
      first_pass_seconds: round(firstPassSeconds, 1),
      measured_seconds: round(seconds, 1),
      breaks: victims.length,
      detected: latencies.length,
      detection_p50_s: round(percentile(latencies, 50), 1),
      detection_p95_s: round(p95, 1),
      detection_max_s: round(Math.max(...latencies), 1),
      bound_s: round(bound, 1),
      p95_vs_bound: round(p95 / bound, 3),
      requests_per_poll: round(requestsPerPoll, 4),
      all_requests_per_poll: round(accepted / cost.polls, 4),
      credwatch_requests_per_poll: round(cost.requests / cost.polls, 4),
      utilization: round(accepted / (s.rps * seconds), 4),
      rate_limited_responses: stats.rateLimited,
      // When each 429 of the measurement came (s after its start), on which route, and how old the simulator's
      // oldest request in the window was (under 1000 ms: the window held `rps` requests less than 1 s apart).
      rate_limited_detail: stats.rateLimitedRecent.map((x) => ({
        at_s: round((x.atMs - started) / 1000, 3),
        at: new Date(x.atMs).toISOString(),
        route: x.route,
        oldest_age_ms: x.oldestAgeMs,
        // The simulator's own event-loop stall just before it stamped that oldest request (null: none).
        oldest_stamped_after_stall_ms: x.oldestAfterStallMs,
      })),
      first_pass_rate_limited: firstPassStats.rateLimited,
      reported_capacity_s: gauge(metrics, 'credwatch_poll_capacity_seconds'),
      reported_utilization: gauge(metrics, 'credwatch_budget_utilization'),
      // Requests that reached the socket late enough to move the later slots, in the scheduler+worker process (1 of 3).
      late_sends_one_process: gauge(metrics, 'credwatch_leaf_late_sends_total'),
      // Slots that process reserved and dropped: its holder woke too late to send, or a 429 paused the budget.
      dropped_slots_one_process: {
        late_wake: gauge(metrics, 'credwatch_leaf_budget_slots_dropped_total\\{reason="late_wake"\\}'),
        paused: gauge(metrics, 'credwatch_leaf_budget_slots_dropped_total\\{reason="paused"\\}'),
      },
      get_credential: r['get_credential'] ?? 0,
      get_events: r['get_events'] ?? 0,
      list_users: r['list_users'] ?? 0,
    };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await receiver.close();
    await sim.stop();
    await deletePrefix(ctx.redis.client, prefix);
  }
}
