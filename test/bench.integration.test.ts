import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin/bench.js');

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

// Shape and types only: timings are never asserted (the machine is shared and noisy).
const EXPECTED: Record<string, Record<string, (v: unknown) => boolean>> = {
  machine: {
    cpus: (v) => Number.isInteger(v) && (v as number) > 0,
    cpuModel: (v) => typeof v === 'string' && v !== '',
    memGiB: isNumber,
    node: (v) => typeof v === 'string' && /^v\d+/.test(v),
    redisVersion: (v) => typeof v === 'string' && /^\d+\.\d+/.test(v),
    date: (v) => typeof v === 'string' && !Number.isNaN(Date.parse(v)),
  },
  pipeline: {
    users: isNumber,
    concurrency: isNumber,
    credwatch_polls_per_s: isNumber,
    raw_polls_per_s: isNumber,
    ratio: isNumber,
    rounds: isNumber,
    raw_client: (v) => v === 'undici',
    // Every client measured on the same loop, and Redis's commands per poll by name.
    raw_clients: (v) =>
      ['undici', 'got', 'fetch'].every((c) => {
        const r = (v as Record<string, { polls_per_s?: unknown; cpu_ms_per_poll?: unknown }> | undefined)?.[c];
        return isNumber(r?.polls_per_s) && isNumber(r?.cpu_ms_per_poll);
      }),
    redis_commands_per_poll: (v) => typeof v === 'object' && v !== null && ((v as Record<string, number>)['evalsha'] ?? 0) > 0,
  },
  rate_limit: {
    budget_rps: isNumber,
    achieved_rps: isNumber,
    utilization: isNumber,
    rate_limited_responses: (v) => Number.isInteger(v) && (v as number) >= 0,
  },
  scale: {
    users: isNumber,
    sweep_seconds: isNumber,
    expected_seconds: isNumber,
    redis_bytes_per_credential: isNumber,
    // The biggest key families (at most 25 and `(other)`), the state hashes among them.
    redis_bytes_per_credential_by_key: (v) => {
      const families = v as Record<string, { keys?: unknown; bytes_per_credential?: unknown }> | undefined;
      return (
        families !== undefined &&
        Object.keys(families).length <= 26 &&
        (families['cred:panorama:*']?.keys as number) > 0 &&
        ((families['cred:panorama:*']?.bytes_per_credential as number) ?? 0) > 0
      );
    },
    daemon_rss_mb: isNumber,
    scrape_ms: isNumber,
  },
  scale_out: { workers: (v) => v === 2, polls_per_s: isNumber, speedup_vs_one: isNumber },
  freshness: {
    users: isNumber,
    budget_rps: isNumber,
    breaks: (v) => Number.isInteger(v) && (v as number) > 0,
    // Every broken credential's webhook arrived (the quick run waits long enough for all).
    detected: (v) => Number.isInteger(v) && (v as number) > 0,
    detection_p50_s: isNumber,
    detection_p95_s: isNumber,
    bound_s: isNumber,
    p95_vs_bound: isNumber,
    requests_per_poll: isNumber,
    utilization: isNumber,
    rate_limited_responses: (v) => Number.isInteger(v) && (v as number) >= 0,
    rate_limited_detail: (v) => Array.isArray(v),
    first_pass_rate_limited: (v) => Number.isInteger(v) && (v as number) >= 0,
    simulator_priority: (v) => v === null || Number.isInteger(v),
    simulator_realtime: (v) => v === null || v === 'SCHED_FIFO 10',
    dropped_slots_one_process: (v) => {
      const d = v as { late_wake?: unknown; paused?: unknown } | null;
      return d !== null && typeof d === 'object' && Number.isInteger(d.late_wake) && Number.isInteger(d.paused);
    },
  },
};

describe('npm run bench -- --quick (compiled, real child processes, private redis-server)', () => {
  const out = mkdtempSync(join(tmpdir(), 'credwatch-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes latest.json and a dated copy with every key and sane types, and prints the table', async () => {
    if (!existsSync(join(ROOT, 'dist/bench/run.js')))
      throw new Error('dist/ is missing: run `npm run build` before this test (npm test does)');
    const result = await runBench(['--quick', '--out', out]);
    expect(result.stderr).not.toMatch(/FAILED/);
    expect(result.code).toBe(0);
    const files = readdirSync(out).sort();
    expect(files).toHaveLength(2);
    expect(files).toContain('latest.json');
    const latest = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    const dated = files.find((f) => f !== 'latest.json') ?? '';
    expect(readFileSync(join(out, dated), 'utf8')).toBe(readFileSync(join(out, 'latest.json'), 'utf8'));
    const bad: string[] = [];
    for (const [section, keys] of Object.entries(EXPECTED)) {
      for (const [key, ok] of Object.entries(keys)) {
        const value = latest[section]?.[key];
        if (!ok(value)) bad.push(`${section}.${key} = ${JSON.stringify(value)}`);
      }
    }
    expect(bad).toEqual([]);
    expect(latest['machine']?.['quick']).toBe(true);
    for (const key of ['credwatch_polls_per_s', 'ratio', 'utilization', 'redis_bytes_per_credential', 'speedup_vs_one'])
      expect(result.stdout).toContain(key);
  }, 180_000);

  it('rejects a bad command line with one clear line and exit code 2', async () => {
    const unknown = await runBench(['--only', 'pipeline,warp', '--out', out]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      'bench: --only: unknown section(s) warp; expected some of pipeline, rate_limit, scale, scale_out, freshness\n',
    );
    const users = await runBench(['--users', 'lots']);
    expect(users.code).toBe(2);
    expect(users.stderr).toMatch(/^bench: --users expects a whole number/);
    const freshness = await runBench(['--freshness-rps', '0']);
    expect(freshness.code).toBe(2);
    expect(freshness.stderr).toBe('bench: --freshness-rps expects a whole number from 1 to 10000, got "0"\n');
    const help = await runBench(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--quick[\s\S]*--only[\s\S]*--users[\s\S]*--freshness-users[\s\S]*--freshness-rps[\s\S]*--out/);
  });
});
