import { parseArgs } from 'node:util';
import { CATEGORIES } from '../classify/categories.js';
import { UsageError, type CliIo, type Command } from '../core/command.js';
import { ConfigError, loadConfig } from '../config.js';
import { formatDuration } from '../duration.js';
import { redactText } from '../redact.js';
import { auditCredentials, waitOutRateLimits, type Assess, type AuditRow } from './audit.js';
import { isLeafError } from './errors.js';
import { createLeafClient } from './create-leaf-client.js';
import { PROVIDER_IDS, type ProviderId } from '../core/providers.js';
import { MemoryRequestBudget } from './request-budget.js';
import { MemoryTokenStore } from './token-store.js';

const HELP = `Usage: credwatch audit [options]

Checks every Leaf user's credential once and prints the ones that need action. Needs no Redis.

Options:
  --leaf-url URL      Leaf base URL (default: LEAF_API_URL, else https://api.withleaf.io)
  --concurrency N     users checked at once (default 8)
  --rps N             most requests per second sent to Leaf (default: CREDWATCH_LEAF_RPS, else 10)
  --json              one JSON object per credential on stdout (leafUserId, category, action, since,
                      reason, externalId, name, email) and nothing else
  --only-failing      with --json: leave healthy credentials out
  --provider ID       provider to audit (default panorama; one of ${PROVIDER_IDS.join(', ')})
  -h, --help          this help

Credentials come from LEAF_TOKEN, or LEAF_USERNAME and LEAF_PASSWORD.
Progress goes to stderr when stderr is a terminal. A 429 from Leaf pauses the audit for its Retry-After.
Exit status: 0 every credential is healthy, 1 some need action, 2 error (bad config or options, Leaf
unreachable, authentication refused, or users that could not be checked); 141 when the reader of
stdout goes away early (\`| head\`).
`;

/** The parsed `credwatch audit` options. */
export interface AuditFlags {
  leafUrl: string | undefined;
  concurrency: number;
  rps: number | undefined;
  json: boolean;
  onlyFailing: boolean;
  provider: ProviderId;
}

/** Parses `credwatch audit` arguments; throws UsageError naming the bad option. */
export function parseAuditArgs(argv: string[]): AuditFlags {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'leaf-url': { type: 'string' },
        concurrency: { type: 'string' },
        rps: { type: 'string' },
        json: { type: 'boolean' },
        'only-failing': { type: 'boolean' },
        provider: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0] ?? 'bad arguments'} (see --help)`);
  }
  const text = (name: string): string | undefined => {
    const v = values[name];
    return typeof v === 'string' ? v : undefined;
  };
  const leafUrl = text('leaf-url');
  if (leafUrl !== undefined) {
    let ok: boolean;
    try {
      ok = ['http:', 'https:'].includes(new URL(leafUrl).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError(`--leaf-url: expected an http(s) URL, got "${redactText(leafUrl)}"`);
  }
  const concurrencyText = text('concurrency') ?? '8';
  const concurrency = Number(concurrencyText);
  if (!/^\d+$/.test(concurrencyText) || concurrency < 1 || concurrency > 256) {
    throw new UsageError(`--concurrency: expected a whole number from 1 to 256, got "${concurrencyText}"`);
  }
  const rpsText = text('rps');
  const rps = rpsText === undefined ? undefined : Number(rpsText);
  if (rps !== undefined && (rpsText?.trim() === '' || !Number.isFinite(rps) || rps <= 0 || rps > 10_000)) {
    throw new UsageError(`--rps: expected a number above 0 and at most 10000, got "${rpsText}"`);
  }
  const provider = text('provider') ?? 'panorama';
  if (!(PROVIDER_IDS as readonly string[]).includes(provider)) {
    throw new UsageError(`--provider: unknown provider "${provider}"; expected one of ${PROVIDER_IDS.join(', ')}`);
  }
  return {
    leafUrl: leafUrl?.replace(/\/+$/, ''),
    concurrency,
    rps,
    json: values['json'] === true,
    onlyFailing: values['only-failing'] === true,
    provider: provider as ProviderId,
  };
}

/** Renders the table of credentials needing action (every category but healthy), most urgent first. */
export function renderTable(rows: readonly AuditRow[]): string {
  if (rows.length === 0) return 'Every credential is healthy.\n';
  const sorted = [...rows].sort(
    (a, b) =>
      CATEGORIES.indexOf(a.category) - CATEGORIES.indexOf(b.category) ||
      (a.since ?? '').localeCompare(b.since ?? '') ||
      a.leafUserId.localeCompare(b.leafUserId),
  );
  const header = ['USER ID', 'EXTERNAL ID', 'NAME', 'CATEGORY', 'SINCE', 'ACTION', 'REASON'];
  const cells = sorted.map((r) => [
    r.leafUserId,
    r.externalId ?? '-',
    (r.name ?? '-').slice(0, 40),
    r.category,
    r.since ?? '-',
    r.action,
    r.reason.replace(/\s+/g, ' ').slice(0, 100),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...cells.map(line)].join('\n')}\n`;
}

/** Renders the per-category counts (every category, zeros included). */
export function renderCounts(counts: Readonly<Record<string, number>>): string {
  const width = Math.max(...CATEGORIES.map((c) => c.length));
  return `${CATEGORIES.map((c) => `  ${c.padEnd(width)}  ${counts[c] ?? 0}`).join('\n')}\n`;
}

function progressLine(done: number, total: number | undefined, startedMs: number): string {
  const elapsed = (Date.now() - startedMs) / 1000;
  const rate = elapsed > 0 ? done / elapsed : 0;
  const eta = total !== undefined && rate > 0 && total > done ? ` · ETA ${formatDuration(((total - done) / rate) * 1000)}` : '';
  return `\r\x1b[K${done}/${total ?? '?'} users · ${rate.toFixed(1)}/s${eta}`;
}

async function loadAssess(): Promise<Assess> {
  const classifier = await import('../classify/assess-credential.js');
  return classifier.assessCredential;
}

/** What a shell reports for a process killed by SIGPIPE: the reader of stdout went away. */
const EXIT_PIPE_CLOSED = 141;

/** Runs an audit; returns the exit code (0 all healthy, 1 some need action, 2 error). */
async function run(argv: string[], io: CliIo): Promise<number> {
  const fail = (message: string): number => {
    io.stderr.write(`credwatch audit: ${redactText(message).replace(/\s*\n\s*/g, '; ')}\n`);
    return 2;
  };
  let flags: AuditFlags;
  let config: ReturnType<typeof loadConfig>;
  try {
    flags = parseAuditArgs(argv);
    config = loadConfig(io.env);
  } catch (error) {
    if (error instanceof ConfigError) return fail(`invalid configuration: ${error.problems.join('; ')}`);
    if (error instanceof UsageError) return fail(error.message);
    throw error;
  }
  if (config.leaf.token === undefined && config.leaf.username === undefined) {
    return fail('no Leaf credentials: set LEAF_TOKEN, or LEAF_USERNAME and LEAF_PASSWORD');
  }
  const client = createLeafClient(config.leaf, {
    apiUrl: flags.leafUrl,
    budget: new MemoryRequestBudget(flags.rps ?? config.monitor.leafRps),
    tokenStore: new MemoryTokenStore(),
  });
  // Ctrl-C, or the reader of stdout going away (`| head`): stop quietly instead of an EPIPE stack trace.
  const stop = new AbortController();
  const signal = AbortSignal.any([io.signal, stop.signal]);
  const onAbort = () => client.close();
  signal.addEventListener('abort', onAbort, { once: true });
  let pipeClosed = false;
  const onStdoutError = () => {
    pipeClosed = true;
    stop.abort(new Error('stdout closed'));
  };
  io.stdout.on('error', onStdoutError);
  const write = (text: string) => {
    if (!pipeClosed) io.stdout.write(text);
  };
  const failing: AuditRow[] = [];
  const started = Date.now();
  const tty = io.stderr.isTTY === true;
  let lastProgress = 0;
  try {
    const assess = await loadAssess();
    await waitOutRateLimits(() => client.authenticate(), signal);
    const summary = await auditCredentials({
      leaf: client,
      provider: flags.provider,
      concurrency: flags.concurrency,
      assess,
      signal,
      onRow: (row) => {
        if (row.category !== 'healthy') failing.push(row);
        if (flags.json && (!flags.onlyFailing || row.category !== 'healthy')) write(`${JSON.stringify(row)}\n`);
      },
      onProgress: (done, total) => {
        if (!tty || Date.now() - lastProgress < 200) return;
        lastProgress = Date.now();
        io.stderr.write(progressLine(done, total, started));
      },
    });
    if (tty) io.stderr.write('\r\x1b[K');
    if (!flags.json) {
      write(renderTable(failing));
      write(`\nCredentials per category (${summary.checked} checked in ${formatDuration(Date.now() - started)}):\n`);
      write(renderCounts(summary.counts));
    }
    if (pipeClosed) return EXIT_PIPE_CLOSED;
    if (summary.failures.length > 0) {
      const first = summary.failures[0];
      return fail(`${summary.failures.length} user(s) could not be checked; first: ${first?.leafUserId ?? '?'}: ${first?.message ?? ''}`);
    }
    return failing.length > 0 ? 1 : 0;
  } catch (error) {
    if (tty) io.stderr.write('\r\x1b[K');
    if (pipeClosed) return EXIT_PIPE_CLOSED;
    if (io.signal.aborted) return fail('interrupted');
    if (isLeafError(error)) return fail(error.message);
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
    io.stdout.off('error', onStdoutError);
    client.close();
  }
}

/** `credwatch audit`: a one-shot check of every credential, without Redis. */
export const auditCommand: Command = {
  name: 'audit',
  summary: 'Check every Leaf credential once and print those needing action (no Redis)',
  help: HELP,
  run,
};
