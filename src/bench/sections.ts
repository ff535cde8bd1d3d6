import { CredwatchError } from '../errors.js';
import {
  bytesByKeyFamily,
  cpuSeconds,
  RAW_LOOP_JS,
  SIM_ACCOUNT,
  spawnNode,
  startSimChild,
  waitUntil,
  type PrivateRedis,
} from './processes.js';
import { RAW_CLIENTS, type RawClient, type RawLoopResult } from './raw-loop.js';
import { runSweep } from './sweep-run.js';

/** What every section is handed. */
export interface BenchContext {
  redis: PrivateRedis;
  baseEnv: Record<string, string>;
  quick: boolean;
  /** Progress line on stderr. */
  progress(message: string): void;
  /** Extra node flags for worker children (--cpu-prof). */
  workerFlags: string[];
}

/** Sizes of one bench run (quick or full), overridable by --users. */
export interface BenchSizes {
  pipelineUsers: number;
  pipelineConcurrency: number;
  pipelineRounds: number;
  rateLimitBudget: number;
  rateLimitSeconds: number;
  scaleUsers: number;
  scaleLatencyMs: number;
  scaleConcurrency: number;
}

/** Default sizes: quick finishes in under a minute, full in several minutes (see docs/performance.md). */
export function benchSizes(quick: boolean, users: number | undefined): BenchSizes {
  const sizes: BenchSizes = quick
    ? {
        pipelineUsers: 100,
        pipelineConcurrency: 8,
        pipelineRounds: 2,
        rateLimitBudget: 50,
        rateLimitSeconds: 5,
        scaleUsers: 2000,
        scaleLatencyMs: 50,
        scaleConcurrency: 200,
      }
    : {
        pipelineUsers: 1000,
        pipelineConcurrency: 16,
        pipelineRounds: 3,
        rateLimitBudget: 50,
        rateLimitSeconds: 25,
        scaleUsers: 100_000,
        scaleLatencyMs: 50,
        scaleConcurrency: 200,
      };
  if (users !== undefined) sizes.scaleUsers = users;
  return sizes;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

/** Leaf requests served (not 429) on the routes a sweep uses. */
function sweepRequests(stats: { requests: Record<string, number>; rateLimited: number }): number {
  const r = stats.requests;
  return (r['list_users'] ?? 0) + (r['get_credential'] ?? 0) + (r['get_events'] ?? 0) - stats.rateLimited;
}

async function runRawLoop(ctx: BenchContext, url: string, concurrency: number, client: RawClient): Promise<RawLoopResult> {
  const child = spawnNode([RAW_LOOP_JS, url, SIM_ACCOUNT.username, SIM_ACCOUNT.password, String(concurrency), client], ctx.baseEnv);
  await waitUntil('the raw loop to finish', async () => (child.child.exitCode !== null ? true : undefined), {
    timeoutMs: 600_000,
    everyMs: 50,
  }).catch(async (error: unknown) => {
    await child.stop();
    throw error;
  });
  const line = child
    .output()
    .split('\n')
    .find((l) => l.startsWith('{'));
  if (child.child.exitCode !== 0 || line === undefined)
    throw new CredwatchError('BENCH_FAILED', `raw loop failed: ${child.output().slice(-1000)}`);
  return JSON.parse(line) as RawLoopResult;
}

/**
 * pipeline: credwatch polls/s (1 worker process + 1 scheduler) against the raw loop, alternating rounds,
 * medians. The ratio uses the raw loop with undici, the fastest client measured; got and fetch run too,
 * each round, so the choice stays measured (`raw_clients`).
 */
export async function pipelineSection(ctx: BenchContext, s: BenchSizes) {
  const sim = await startSimChild({ users: s.pipelineUsers, seed: 1, latencyMs: 0, baseEnv: ctx.baseEnv });
  try {
    const credwatch: number[] = [];
    const raw: number[] = [];
    const cpu = { credwatch: [] as number[], redis: [] as number[], raw: [] as number[], sim: [] as number[] };
    const calls: Array<Record<string, number>> = [];
    const byClient = new Map<RawClient, { pollsPerS: number[]; cpuMs: number[] }>(
      RAW_CLIENTS.map((c) => [c, { pollsPerS: [], cpuMs: [] }]),
    );
    const simCpu = () => cpuSeconds(sim.child.pid) ?? NaN;
    for (let r = 1; r <= s.pipelineRounds; r += 1) {
      const simBefore = simCpu();
      const run = await runSweep({
        redis: ctx.redis,
        sim,
        baseEnv: ctx.baseEnv,
        users: s.pipelineUsers,
        concurrency: s.pipelineConcurrency,
        rps: 10_000,
        workers: 1,
        nodeFlags: ctx.workerFlags,
        timeoutMs: 600_000,
      });
      credwatch.push(run.pollsPerS);
      calls.push(run.redisCalls);
      if (run.daemonCpuSeconds !== null) cpu.credwatch.push((run.daemonCpuSeconds * 1000) / s.pipelineUsers);
      cpu.redis.push((run.redisCpuSeconds * 1000) / s.pipelineUsers);
      cpu.sim.push(((simCpu() - simBefore) * 1000) / s.pipelineUsers);
      for (const client of RAW_CLIENTS) {
        const run = await runRawLoop(ctx, sim.url, s.pipelineConcurrency, client);
        byClient.get(client)?.pollsPerS.push(run.polls_per_s);
        byClient.get(client)?.cpuMs.push((run.cpu_seconds * 1000) / run.polls);
      }
      const rawPollsPerS = byClient.get('undici')?.pollsPerS.at(-1) ?? NaN;
      raw.push(rawPollsPerS);
      cpu.raw.push(byClient.get('undici')?.cpuMs.at(-1) ?? NaN);
      ctx.progress(
        `pipeline round ${r}/${s.pipelineRounds}: credwatch ${run.pollsPerS.toFixed(1)} polls/s, raw ${rawPollsPerS.toFixed(1)} polls/s`,
      );
    }
    const cw = median(credwatch);
    const rw = median(raw);
    return {
      users: s.pipelineUsers,
      concurrency: s.pipelineConcurrency,
      credwatch_polls_per_s: round(cw, 1),
      raw_polls_per_s: round(rw, 1),
      ratio: round(cw / rw, 3),
      rounds: s.pipelineRounds,
      // CPU cost per poll (median of rounds): the daemon processes, redis-server during their sweep, the raw loop.
      credwatch_cpu_ms_per_poll: cpu.credwatch.length > 0 ? round(median(cpu.credwatch), 3) : null,
      redis_cpu_ms_per_poll: round(median(cpu.redis), 3),
      raw_cpu_ms_per_poll: round(median(cpu.raw), 3),
      // The simulator's CPU per credwatch poll (its two answers, the sweep's pages): the same work the raw loop causes.
      simulator_cpu_ms_per_poll: round(median(cpu.sim), 3),
      raw_client: 'undici',
      // Every client on the same loop (medians): polls/s and CPU ms per poll of the raw loop's process.
      raw_clients: Object.fromEntries(
        [...byClient].map(([client, r]) => [
          client,
          { polls_per_s: round(median(r.pollsPerS), 1), cpu_ms_per_poll: round(median(r.cpuMs), 3) },
        ]),
      ),
      // Redis commands per poll in the last round, by name (INFO commandstats, so commands run inside scripts count too).
      redis_commands_per_poll: Object.fromEntries(
        Object.entries(calls.at(-1) ?? {})
          .sort((a, b) => b[1] - a[1])
          .map(([name, n]) => [name, round(n / s.pipelineUsers, 2)]),
      ),
      credwatch_rounds: credwatch.map((v) => round(v, 1)),
      raw_rounds: raw.map((v) => round(v, 1)),
    };
  } finally {
    await sim.stop();
  }
}

/** rate_limit: the simulator enforces the budget and counts 429s; credwatch is given the same budget. */
export async function rateLimitSection(ctx: BenchContext, s: BenchSizes) {
  const users = Math.ceil((s.rateLimitBudget * s.rateLimitSeconds) / 2);
  const sim = await startSimChild({ users, seed: 2, latencyMs: 0, baseEnv: ctx.baseEnv });
  try {
    await sim.setFaults({ rateLimitRps: s.rateLimitBudget });
    await sim.resetStats();
    const run = await runSweep({
      redis: ctx.redis,
      sim,
      baseEnv: ctx.baseEnv,
      users,
      concurrency: 8,
      rps: s.rateLimitBudget,
      workers: 1,
      timeoutMs: 600_000,
    });
    const stats = await sim.stats();
    const achieved = sweepRequests(stats) / run.seconds;
    ctx.progress(
      `rate_limit: ${users} users in ${run.seconds.toFixed(1)} s, ${achieved.toFixed(1)} rps of ${s.rateLimitBudget}, ${stats.rateLimited} × 429`,
    );
    return {
      budget_rps: s.rateLimitBudget,
      achieved_rps: round(achieved, 2),
      utilization: round(achieved / s.rateLimitBudget, 3),
      rate_limited_responses: stats.rateLimited,
      users,
      sweep_seconds: round(run.seconds, 2),
    };
  } finally {
    await sim.stop();
  }
}

/** The `limit` biggest key families in bytes per credential (0.1 B), the rest summed as `(other)`. */
function topFamilies(families: Record<string, { keys: number; bytes: number }>, credentials: number, limit: number) {
  const sorted = Object.entries(families).sort((a, b) => b[1].bytes - a[1].bytes);
  const rest = sorted.slice(limit).reduce((sum, [, f]) => ({ keys: sum.keys + f.keys, bytes: sum.bytes + f.bytes }), { keys: 0, bytes: 0 });
  const shown = rest.keys > 0 ? [...sorted.slice(0, limit), ['(other)', rest] as const] : sorted.slice(0, limit);
  return Object.fromEntries(shown.map(([family, f]) => [family, { keys: f.keys, bytes_per_credential: round(f.bytes / credentials, 1) }]));
}

/** scale: a big sweep with simulator latency; Redis bytes per credential, daemon peak RSS, /metrics scrape time. */
export async function scaleSection(ctx: BenchContext, s: BenchSizes) {
  ctx.progress(`scale: starting a simulator with ${s.scaleUsers} users (latency ${s.scaleLatencyMs} ms)`);
  const sim = await startSimChild({ users: s.scaleUsers, seed: 3, latencyMs: s.scaleLatencyMs, baseEnv: ctx.baseEnv });
  try {
    const rps = 10_000;
    const before = await ctx.redis.usedMemory();
    let after = NaN;
    let families: Record<string, { keys: number; bytes: number }> = {};
    const scrapes: number[] = [];
    const run = await runSweep({
      redis: ctx.redis,
      sim,
      baseEnv: ctx.baseEnv,
      users: s.scaleUsers,
      concurrency: s.scaleConcurrency,
      rps,
      workers: 0,
      timeoutMs: 3_600_000,
      inspect: async ({ metricsUrl, prefix }) => {
        after = await ctx.redis.usedMemory();
        families = await bytesByKeyFamily(ctx.redis.client, prefix);
        for (let i = 0; i < 10 && metricsUrl !== undefined; i += 1) {
          const t0 = performance.now();
          const res = await fetch(metricsUrl);
          await res.text();
          scrapes.push(performance.now() - t0);
        }
      },
    });
    const stats = await sim.stats();
    const requests = (stats.requests['get_credential'] ?? 0) + (stats.requests['get_events'] ?? 0);
    const expected = Math.max(requests / rps, (requests * s.scaleLatencyMs) / 1000 / s.scaleConcurrency);
    ctx.progress(`scale: ${s.scaleUsers} users in ${run.seconds.toFixed(1)} s (expected ${expected.toFixed(1)} s), RSS ${run.rssMb} MiB`);
    return {
      users: s.scaleUsers,
      concurrency: s.scaleConcurrency,
      latency_ms: s.scaleLatencyMs,
      sweep_seconds: round(run.seconds, 2),
      expected_seconds: round(expected, 2),
      sweep_vs_expected: round(run.seconds / expected, 3),
      polls_per_s: round(run.pollsPerS, 1),
      leaf_requests: requests,
      redis_bytes_per_credential: Math.round((after - before) / run.credentials),
      // MEMORY USAGE per key family ÷ credentials (used_memory also counts allocator overhead and Redis's own structures).
      // The 25 biggest families; the rest summed as `(other)`.
      redis_bytes_per_credential_by_key: topFamilies(families, run.credentials, 25),
      daemon_rss_mb: run.rssMb,
      scrape_ms: round(median(scrapes), 1),
    };
  } finally {
    await sim.stop();
  }
}

/** scale_out: the pipeline's sweep with 1 and then 2 worker processes (plus one scheduler each time). */
export async function scaleOutSection(ctx: BenchContext, s: BenchSizes) {
  const sim = await startSimChild({ users: s.pipelineUsers, seed: 1, latencyMs: 0, baseEnv: ctx.baseEnv });
  try {
    const runs: Array<{ workers: number; polls_per_s: number; sweep_seconds: number }> = [];
    for (const workers of [1, 2]) {
      const run = await runSweep({
        redis: ctx.redis,
        sim,
        baseEnv: ctx.baseEnv,
        users: s.pipelineUsers,
        concurrency: s.pipelineConcurrency,
        rps: 10_000,
        workers,
        timeoutMs: 600_000,
      });
      runs.push({ workers, polls_per_s: round(run.pollsPerS, 1), sweep_seconds: round(run.seconds, 2) });
      ctx.progress(`scale_out: ${workers} worker(s): ${run.pollsPerS.toFixed(1)} polls/s`);
    }
    const one = runs[0]?.polls_per_s ?? NaN;
    const two = runs[1]?.polls_per_s ?? NaN;
    return {
      workers: 2,
      polls_per_s: two,
      speedup_vs_one: round(two / one, 3),
      users: s.pipelineUsers,
      concurrency_per_worker: s.pipelineConcurrency,
      runs,
    };
  } finally {
    await sim.stop();
  }
}
