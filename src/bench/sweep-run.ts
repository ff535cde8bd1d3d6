import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { CredentialStore } from '../monitor/credential-store.js';
import { QUEUES } from '../monitor/schedules.js';
import {
  cpuSeconds,
  deletePrefix,
  daemonEnv,
  peakRssMb,
  startDaemonChild,
  waitUntil,
  type BenchChild,
  type PrivateRedis,
  type SimChild,
} from './processes.js';

/** How one measured sweep runs. */
export interface SweepRunOptions {
  redis: PrivateRedis;
  sim: SimChild;
  /** PATH and friends for the children. */
  baseEnv: Record<string, string>;
  users: number;
  /** Poll jobs per worker process. */
  concurrency: number;
  /** CREDWATCH_LEAF_RPS, shared by every process. */
  rps: number;
  /** Worker processes beside one scheduler process; 0 runs every role in one process (with /metrics). */
  workers: number;
  /** Runs in the seconds after the sweep finished, before the daemon stops (memory, scrape timing). */
  inspect?: (run: { daemon: BenchChild; metricsUrl: string | undefined; prefix: string }) => Promise<void>;
  /** Extra node flags for the worker children (e.g. --cpu-prof). */
  nodeFlags?: string[];
  timeoutMs: number;
}

/** What one sweep measured. */
export interface SweepRun {
  seconds: number;
  pollsPerS: number;
  credentials: number;
  /** Peak RSS of the (first) worker process, MiB. */
  rssMb: number | null;
  /** CPU seconds used during the sweep by the daemon processes together, and by redis-server. */
  daemonCpuSeconds: number | null;
  redisCpuSeconds: number;
  /** Redis commands run during the sweep, by name (INFO commandstats: those inside scripts included; the bench's own checks too). */
  redisCalls: Record<string, number>;
}

/**
 * One sweep timed from its start (the `startedAt` the scheduler writes in Redis) until every user has a
 * state and the poll queue is empty. A fresh key prefix per run, deleted afterwards.
 */
export async function runSweep(o: SweepRunOptions): Promise<SweepRun> {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const env = { ...o.baseEnv, ...daemonEnv({ simUrl: o.sim.url, redisUrl: o.redis.url, prefix, concurrency: o.concurrency, rps: o.rps }) };
  const store = new CredentialStore(o.redis.client, prefix, { historyLimit: 50, providers: ['panorama'] });
  const pollQueue = new Queue(QUEUES.poll, { connection: o.redis.client, prefix });
  const children: BenchChild[] = [];
  try {
    let daemon: BenchChild;
    let metricsUrl: string | undefined;
    if (o.workers === 0) {
      daemon = startDaemonChild(env, ['scheduler', 'worker', 'http'], o.nodeFlags);
      children.push(daemon);
      metricsUrl = await waitUntil('the daemon to serve /metrics', async () => /\(metrics: (http:\/\/\S+)\)/.exec(daemon.output())?.[1], {
        timeoutMs: 30_000,
        child: daemon,
      });
    } else {
      for (let i = 0; i < o.workers; i += 1) children.push(startDaemonChild(env, ['worker'], o.nodeFlags));
      // Workers first, so the sweep the scheduler starts at once finds them all taking jobs.
      await waitUntil(
        `${o.workers} poll worker(s) connected`,
        async () => ((await pollQueue.getWorkersCount()) >= o.workers ? true : undefined),
        {
          timeoutMs: 30_000,
          everyMs: 100,
          ...(children[0] ? { child: children[0] } : {}),
        },
      );
      children.push(startDaemonChild(env, ['scheduler']));
      daemon = children[0] as BenchChild;
    }
    const scheduler = children[children.length - 1] as BenchChild;
    const startedAt = await waitUntil('the sweep to start', async () => (await store.sweeps.info()).lastStartedAt ?? undefined, {
      timeoutMs: 30_000,
      child: scheduler,
    });
    const daemonCpu = (): number | null => {
      let sum = 0;
      for (const c of children) {
        const n = cpuSeconds(c.child.pid);
        if (n === null) return null;
        sum += n;
      }
      return sum;
    };
    const cpuAtStart = daemonCpu();
    const redisCpuAtStart = await o.redis.cpuSeconds();
    const callsAtStart = await o.redis.commandCalls();
    const credentials = await waitUntil(
      `${o.users} credentials assessed and an idle poll queue`,
      async () => {
        for (const child of children) {
          if (child.child.exitCode !== null)
            throw new Error(`a daemon child exited (${child.child.exitCode}):\n${child.output().slice(-2000)}`);
        }
        const total = (await store.counts()).reduce((sum, r) => sum + r.count, 0);
        if (total < o.users) return undefined;
        const c = await pollQueue.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
        return (c['waiting'] ?? 0) + (c['prioritized'] ?? 0) + (c['active'] ?? 0) + (c['delayed'] ?? 0) === 0 ? total : undefined;
      },
      { timeoutMs: o.timeoutMs, everyMs: 50 },
    );
    const seconds = (Date.now() - Date.parse(startedAt)) / 1000;
    const cpuAtEnd = daemonCpu();
    const redisCpuSeconds = (await o.redis.cpuSeconds()) - redisCpuAtStart;
    const redisCalls: Record<string, number> = {};
    for (const [name, calls] of Object.entries(await o.redis.commandCalls())) {
      const delta = calls - (callsAtStart[name] ?? 0);
      if (delta > 0) redisCalls[name] = delta;
    }
    const daemonCpuSeconds = cpuAtStart === null || cpuAtEnd === null ? null : cpuAtEnd - cpuAtStart;
    if (o.inspect) await o.inspect({ daemon, metricsUrl, prefix });
    return {
      seconds,
      pollsPerS: o.users / seconds,
      credentials,
      rssMb: peakRssMb(daemon.child.pid),
      daemonCpuSeconds,
      redisCpuSeconds,
      redisCalls,
    };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await pollQueue.close();
    await deletePrefix(o.redis.client, prefix);
  }
}
