import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { startPrivateRedis } from './processes.js';
import { freshnessSection } from './freshness.js';
import { benchSizes, pipelineSection, rateLimitSection, scaleOutSection, scaleSection, type BenchContext } from './sections.js';

/** Every section `--only` accepts, in the order they run. */
export const SECTIONS = ['pipeline', 'rate_limit', 'scale', 'scale_out', 'freshness'] as const;
type Section = (typeof SECTIONS)[number];

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_OUT = join(ROOT, 'bench/results/');

/** The measured code's commit, with `+dirty` when the working tree differs (null outside a git checkout). */
function gitCommit(): string | null {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (head.status !== 0) return null;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no', 'src'], { cwd: ROOT, encoding: 'utf8' });
  return `${head.stdout.trim()}${dirty.stdout.trim() === '' ? '' : '+dirty'}`;
}

const HELP = `Usage: npm run bench -- [options]   (or: node bin/bench.js [options])

Measures credwatch against the Leaf simulator, each in its own process, on a private redis-server
(redis-server must be on PATH). Progress goes to stderr, a table to stdout, and the figures to
<out>/latest.json plus <out>/<ISO date>.json. See docs/performance.md.

Options:
  --quick            small sizes, all sections in about a minute (a smoke run; figures are not comparable)
  --only LIST        comma-separated sections: ${SECTIONS.join(', ')} (default: all)
  --users N          users of the scale section (default 100000, quick 2000)
  --freshness-users N   users of the freshness section (default 5000, quick 300)
  --freshness-rps N     budget and simulator rate limit of the freshness section (default 50)
  --out DIR          results directory (default bench/results)
  --cpu-prof DIR     run the pipeline's worker children with --cpu-prof, writing profiles into DIR
  -h, --help         show this help
`;

/** What bin/bench.js hands in. */
export interface BenchIo {
  stdout: Writable;
  stderr: Writable;
  env: Record<string, string | undefined>;
}

/** A bad command line: printed on one line, exit code 2. */
class BenchUsageError extends Error {}

function parse(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        users: { type: 'string' },
        'freshness-users': { type: 'string' },
        'freshness-rps': { type: 'string' },
        out: { type: 'string' },
        'cpu-prof': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new BenchUsageError(`${(error as Error).message}. Run \`npm run bench -- --help\`.`);
  }
  const only = (values.only ?? SECTIONS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0 || only.length === 0)
    throw new BenchUsageError(`--only: unknown section(s) ${unknown.join(', ') || '(none)'}; expected some of ${SECTIONS.join(', ')}`);
  let users: number | undefined;
  if (values.users !== undefined) {
    users = Number(values.users);
    if (!/^\d+$/.test(values.users) || users < 1 || users > 1_000_000)
      throw new BenchUsageError(`--users expects a whole number from 1 to 1000000, got "${values.users}"`);
  }
  const whole = (name: string, value: string | undefined, max: number): number | undefined => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max)
      throw new BenchUsageError(`--${name} expects a whole number from 1 to ${max}, got "${value}"`);
    return Number(value);
  };
  const freshnessUsers = whole('freshness-users', values['freshness-users'], 1_000_000);
  const freshnessRps = whole('freshness-rps', values['freshness-rps'], 10_000);
  return {
    freshnessUsers,
    freshnessRps,
    help: values.help,
    quick: values.quick,
    only: only as Section[],
    users,
    out: values.out ?? DEFAULT_OUT,
    cpuProf: values['cpu-prof'],
  };
}

function fmt(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 3 : 1);
  return value === null || value === undefined ? '-' : String(value);
}

/** The figures as a plain-text table, one row per key of each section. */
export function formatTable(results: Record<string, Record<string, unknown>>): string {
  const rows: Array<[string, string, string]> = [];
  for (const [section, figures] of Object.entries(results)) {
    for (const [key, value] of Object.entries(figures)) {
      if (typeof value === 'object' && value !== null) continue;
      rows.push([section, key, fmt(value)]);
    }
  }
  const w0 = Math.max(...rows.map((r) => r[0].length), 7);
  const w1 = Math.max(...rows.map((r) => r[1].length), 6);
  const lines = [`${'section'.padEnd(w0)}  ${'figure'.padEnd(w1)}  value`, `${'-'.repeat(w0)}  ${'-'.repeat(w1)}  -----`];
  for (const [a, b, c] of rows) lines.push(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
  return `${lines.join('\n')}\n`;
}

/** Runs the bench; returns the exit code (0 ok, 1 a section failed, 2 bad usage). */
export async function runBench(argv: string[], io: BenchIo): Promise<number> {
  let args;
  try {
    args = parse(argv);
  } catch (error) {
    if (error instanceof BenchUsageError) {
      io.stderr.write(`bench: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (args.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const progress = (message: string) => io.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
  const baseEnv: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR']) if (io.env[name] !== undefined) baseEnv[name] = io.env[name] ?? '';
  const sizes = benchSizes(args.quick, args.users);
  const redis = await startPrivateRedis().catch((error: unknown) => {
    io.stderr.write(`bench: ${(error as Error).message}\n`);
    return undefined;
  });
  if (redis === undefined) return 1;
  const cpuList = cpus();
  const results: Record<string, Record<string, unknown>> = {
    machine: {
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
      memGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
      node: process.version,
      redisVersion: redis.version,
      date: new Date().toISOString(),
      quick: args.quick,
      commit: gitCommit(),
    },
  };
  const workerFlags = args.cpuProf === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', args.cpuProf];
  const ctx: BenchContext = { redis, baseEnv, quick: args.quick, progress, workerFlags };
  const run: Record<Section, () => Promise<Record<string, unknown>>> = {
    pipeline: () => pipelineSection(ctx, sizes),
    rate_limit: () => rateLimitSection(ctx, sizes),
    scale: () => scaleSection(ctx, sizes),
    scale_out: () => scaleOutSection(ctx, sizes),
    freshness: () =>
      freshnessSection(ctx, {
        users: args.freshnessUsers ?? (args.quick ? 300 : 5000),
        rps: args.freshnessRps ?? 50,
        breaks: args.quick ? 8 : 50,
        workers: args.quick ? 1 : 2,
      }),
  };
  let failed = false;
  try {
    for (const section of SECTIONS) {
      if (!args.only.includes(section)) continue;
      progress(`${section}: running${args.quick ? ' (quick)' : ''}`);
      try {
        results[section] = await run[section]();
      } catch (error) {
        failed = true;
        results[section] = { error: error instanceof Error ? error.message : String(error) };
        progress(`${section}: FAILED: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } finally {
    await redis.stop();
  }
  mkdirSync(args.out, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const stamp = String(results['machine']?.['date']).replace(/[:.]/g, '-');
  writeFileSync(join(args.out, 'latest.json'), json);
  writeFileSync(join(args.out, `${stamp}.json`), json);
  io.stdout.write(formatTable(results));
  progress(`wrote ${join(args.out, 'latest.json')}`);
  return failed ? 1 : 0;
}
