import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { CredwatchError } from '../errors.js';
import { deleteKeysWithPrefix, freePort } from '../local-resources.js';

/** The compiled CLI every child runs (`bin/credwatch.js`). */
export const CREDWATCH_BIN = fileURLToPath(new URL('../../bin/credwatch.js', import.meta.url));
/** The raw-loop child's entry, compiled next to this file. */
export const RAW_LOOP_JS = fileURLToPath(new URL('./raw-loop.js', import.meta.url));
/** The Leaf account the simulator children accept (the simulator's defaults; a local fake, not a secret). */
export const SIM_ACCOUNT = { username: 'bench@example.com', password: 'bench-password' } as const;

/** The SCHED_FIFO priority of a real-time simulator (1 to 99; low: it only has to preempt normal processes). */
const SIM_REALTIME_PRIORITY = 10;

/** A child process with its captured output. */
export interface BenchChild {
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns `node args...` with exactly `env`, capturing stdout+stderr (the last 64 KiB, for error messages). */
export function spawnNode(args: string[], env: Record<string, string>, nodeFlags: string[] = []): BenchChild {
  let output = '';
  const child = spawn(process.execPath, [...nodeFlags, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-65_536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => output, stop: (graceMs = 5000) => stopChild(child, graceMs) };
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Polls `check` every `everyMs` until it returns a value, failing after `timeoutMs` or when `alive` says the child died. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; everyMs?: number; child?: BenchChild },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const child = options.child?.child;
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new CredwatchError(
        'BENCH_FAILED',
        `child exited (${child.exitCode ?? child.signalCode}) while waiting for ${what}:\n${options.child?.output().slice(-2000)}`,
      );
    }
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new CredwatchError('BENCH_FAILED', `timed out after ${options.timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, options.everyMs ?? 50));
  }
}

/** What the bench reads of `GET /_sim/stats`. */
export interface SimChildStats {
  requests: Record<string, number>;
  rateLimited: number;
  rateLimitedRecent: Array<{ atMs: number; route: string; oldestAgeMs: number; oldestAfterStallMs: number | null }>;
}

/** A simulator child (`credwatch sim`) and its control API. */
export interface SimChild extends BenchChild {
  url: string;
  /** The scheduling priority applied (null: the default, because none was asked or it was refused). */
  priority: number | null;
  /** The real-time policy applied (`SCHED_FIFO 10`), or null when none was asked or it was refused. */
  realtime: string | null;
  setFaults(faults: { latencyMs?: number; rateLimitRps?: number }): Promise<void>;
  stats(): Promise<SimChildStats>;
  resetStats(): Promise<void>;
}

/** Starts `credwatch sim --port 0` in its own process and waits for its "listening on" line. */
export async function startSimChild(options: {
  users: number;
  seed: number;
  latencyMs: number;
  baseEnv: Record<string, string>;
  /**
   * A scheduling priority for the simulator (os.setPriority; negative needs root or CAP_SYS_NICE). Leaf
   * runs on its own machines: on the bench's shared cores the daemons' CPU could delay the simulator's
   * clock stamps, which its strict rate window would count as their requests bunching up.
   */
  priority?: number;
  /**
   * Run the simulator under SCHED_FIFO (`chrt`, Linux; needs root or CAP_SYS_NICE), all its threads: it
   * then runs the moment a request arrives, as Leaf's own machines would, instead of waiting for a core
   * that a daemon or Redis holds. Refused or unavailable: it runs as before, and `realtime` says so.
   */
  realtime?: boolean;
}): Promise<SimChild> {
  const args = [
    CREDWATCH_BIN,
    'sim',
    '--port',
    '0',
    '--users',
    String(options.users),
    '--seed',
    String(options.seed),
    '--latency',
    String(options.latencyMs),
  ];
  const base = spawnNode([...args, '--username', SIM_ACCOUNT.username, '--password', SIM_ACCOUNT.password], options.baseEnv);
  let priority: number | null = null;
  if (options.priority !== undefined && base.child.pid !== undefined) {
    try {
      setPriority(base.child.pid, options.priority);
      priority = options.priority;
    } catch {
      // Not permitted here: the simulator runs at the default priority, and `priority` says so.
    }
  }
  let realtime: string | null = null;
  if (options.realtime === true && base.child.pid !== undefined) {
    const chrt = spawnSync('chrt', ['--all-tasks', '--fifo', '--pid', String(SIM_REALTIME_PRIORITY), String(base.child.pid)], {
      encoding: 'utf8',
    });
    if (chrt.status === 0) realtime = `SCHED_FIFO ${SIM_REALTIME_PRIORITY}`;
  }
  const url = await waitUntil('the simulator to listen', async () => /listening on (http:\/\/\S+)/.exec(base.output())?.[1], {
    timeoutMs: 120_000,
    child: base,
  });
  const control = async (path: string, init: RequestInit = {}): Promise<unknown> => {
    const res = await fetch(`${url}/_sim${path}`, { ...init, headers: { 'content-type': 'application/json' } });
    if (!res.ok) throw new CredwatchError('BENCH_FAILED', `simulator control ${path} answered ${res.status}`);
    return res.json();
  };
  return {
    ...base,
    url,
    priority,
    realtime,
    setFaults: async (faults) => void (await control('/faults', { method: 'PUT', body: JSON.stringify(faults) })),
    stats: async () => (await control('/stats')) as SimChildStats,
    resetStats: async () => void (await control('/stats/reset', { method: 'POST' })),
  };
}

/** The environment of a bench daemon child. */
export function daemonEnv(options: {
  simUrl: string;
  redisUrl: string;
  prefix: string;
  concurrency: number;
  rps: number;
}): Record<string, string> {
  return {
    LEAF_API_URL: options.simUrl,
    LEAF_USERNAME: SIM_ACCOUNT.username,
    LEAF_PASSWORD: SIM_ACCOUNT.password,
    REDIS_URL: options.redisUrl,
    CREDWATCH_PREFIX: options.prefix,
    // The schedule fires once at start; the bench never waits for a second one.
    CREDWATCH_POLL_INTERVAL: '24h',
    CREDWATCH_POLL_CONCURRENCY: String(options.concurrency),
    CREDWATCH_LEAF_RPS: String(options.rps),
    CREDWATCH_PORT: '0',
    CREDWATCH_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
  };
}

/** Starts `credwatch start --role ...` as a child. */
export function startDaemonChild(env: Record<string, string>, roles: string[], nodeFlags: string[] = []): BenchChild {
  return spawnNode([CREDWATCH_BIN, 'start', ...roles.flatMap((r) => ['--role', r])], env, nodeFlags);
}

/** Peak resident set size of a live child in MiB (VmHWM from /proc), or null off Linux. */
export function peakRssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Math.round((Number(kb) / 1024) * 10) / 10;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a live process has used, from /proc/<pid>/stat (100 ticks/s), or null off Linux. */
export function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** A private `redis-server` for the bench, so its memory figures count credwatch's keys only. */
export interface PrivateRedis {
  url: string;
  client: Redis;
  version: string;
  usedMemory(): Promise<number>;
  /** CPU seconds the server has used (INFO cpu, user + system). */
  cpuSeconds(): Promise<number>;
  /** Calls per command since the server started (INFO commandstats; commands run inside scripts included). */
  commandCalls(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** Starts `redis-server` on a free loopback port (noeviction, no persistence). */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'credwatch-bench-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'],
    {
      stdio: 'ignore',
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('error', (error) =>
      reject(
        new CredwatchError(
          'REDIS_UNAVAILABLE',
          `the bench starts a private redis-server and could not run it (${error.message}); install redis-server (apt-get install redis-server)`,
        ),
      ),
    );
    child.once('spawn', () => resolve());
  });
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, retryStrategy: (n) => (n > 50 ? null : 100) });
  client.on('error', () => undefined);
  // ioredis keeps reconnecting (retryStrategy) after a first refused connection; wait for it to be ready.
  client.connect().catch(() => undefined);
  await waitUntil('the private redis-server', async () => (client.status === 'ready' ? true : undefined), {
    timeoutMs: 10_000,
    everyMs: 100,
  });
  const info = await client.info('server');
  return {
    url,
    client,
    version: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    usedMemory: async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1] ?? NaN),
    cpuSeconds: async () => {
      const info = await client.info('cpu');
      return Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? NaN) + Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? NaN);
    },
    commandCalls: async () => {
      const calls: Record<string, number> = {};
      for (const m of (await client.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1] ?? ''] = Number(m[2]);
      return calls;
    },
    stop: async () => {
      client.disconnect();
      await stopChild(child, 2000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A key's family: its prefix dropped and every segment that names one user, credential, transition,
 * incident, signature or job replaced by `*` (a hex or UUID-like id, a number, `t<n>`, `inc_<n>`).
 */
export function keyFamily(key: string, prefix: string): string {
  return key
    .slice(prefix.length + 1)
    .split(':')
    .map((segment) => (/^[0-9a-f-]{8,}$|^t?\d+$|^inc_\d+$|^fresh-\d+$|^sim-|^u-/i.test(segment) ? '*' : segment))
    .join(':');
}

/** `MEMORY USAGE` summed per key family under a prefix (SCAN, pipelined): what each kind of key costs. */
export async function bytesByKeyFamily(redis: Redis, prefix: string): Promise<Record<string, { keys: number; bytes: number }>> {
  const families: Record<string, { keys: number; bytes: number }> = {};
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', 0);
    const sizes = (await pipeline.exec()) ?? [];
    keys.forEach((key, i) => {
      const family = keyFamily(key, prefix);
      const entry = (families[family] ??= { keys: 0, bytes: 0 });
      entry.keys += 1;
      entry.bytes += Number(sizes[i]?.[1] ?? 0);
    });
  } while (cursor !== '0');
  return families;
}

/** Deletes every key under a prefix (SCAN, never KEYS). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  await deleteKeysWithPrefix(redis, prefix);
}
