import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort } from './redis-server.js';

/** Repository root (test/helpers/../..). */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
/** The shipped alerting and recording rules. */
export const RULES_FILE = join(REPO_ROOT, 'prometheus', 'rules', 'credwatch.rules.yml');
/** The shipped Alertmanager routing. */
export const ALERTMANAGER_FILE = join(REPO_ROOT, 'alertmanager', 'alertmanager.yml');

/** Debian package that provides each binary the ops tests run. */
const DEBIAN_PACKAGE: Record<string, string> = {
  promtool: 'prometheus',
  prometheus: 'prometheus',
  amtool: 'prometheus-alertmanager',
  alertmanager: 'prometheus-alertmanager',
  'prometheus-alertmanager': 'prometheus-alertmanager',
  'docker-compose': 'docker-compose',
};

/**
 * Absolute path of the first of `names` found on PATH. Throws (never skips) with the Debian package to
 * install when none is there: Debian names the Alertmanager binary `prometheus-alertmanager`.
 */
export function requireBinary(...names: string[]): string {
  for (const name of names) {
    for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
      const candidate = join(dir, name);
      if (dir !== '' && existsSync(candidate)) return candidate;
    }
  }
  const pkg = DEBIAN_PACKAGE[names[0] ?? ''] ?? names[0];
  throw new Error(
    `${names.join(' or ')} not found on PATH: install the Debian package "${pkg}" (apt-get install -y ${pkg}); .ci/run installs it when missing`,
  );
}

/** Output of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a binary to completion (never throws on a non-zero exit: the caller asserts on `code`). */
export async function run(file: string, args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    execFile(
      file,
      args,
      { cwd: options.cwd ?? REPO_ROOT, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolvePromise({
          code,
          stdout: String(stdout),
          stderr: String(stderr) + (error !== null && typeof error.code !== 'number' ? `\n${error.message}` : ''),
        });
      },
    );
  });
}

interface RuleGroups {
  groups: Array<{ name: string; interval?: string; rules: Array<Record<string, unknown>> }>;
}

/**
 * The shipped rules with every alert's `for:` replaced by `forDuration`, so an end-to-end test sees alerts
 * fire within seconds. That is the only difference: expressions, labels and annotations are unchanged (a
 * group `interval:` would also be dropped so the harness's 1s evaluation applies; the shipped file sets none).
 */
export function shortenedRules(rulesYaml: string, forDuration: string): string {
  const doc = parse(rulesYaml) as RuleGroups;
  for (const group of doc.groups) {
    delete group.interval;
    for (const rule of group.rules) if (typeof rule['alert'] === 'string' && rule['for'] !== undefined) rule['for'] = forDuration;
  }
  return stringify(doc);
}

interface AlertmanagerDoc {
  route: Record<string, unknown> & { routes?: Array<Record<string, unknown>> };
  receivers: Array<{ name: string } & Record<string, unknown>>;
  [key: string]: unknown;
}

/**
 * The shipped Alertmanager routing with every receiver replaced by a webhook to `${receiverBaseUrl}/<name>`
 * and short grouping timers (1s), so a loopback receiver sees notifications and which route they took.
 */
export function testAlertmanagerConfig(alertmanagerYaml: string, receiverBaseUrl: string): string {
  const doc = parse(alertmanagerYaml) as AlertmanagerDoc;
  const shorten = (route: Record<string, unknown> & { routes?: Array<Record<string, unknown>> }) => {
    for (const key of ['group_wait', 'group_interval']) if (route[key] !== undefined) route[key] = '1s';
    if (route['repeat_interval'] !== undefined) route['repeat_interval'] = '1h';
    for (const child of route.routes ?? []) shorten(child);
  };
  shorten(doc.route);
  doc.route['group_wait'] = '1s';
  doc.route['group_interval'] = '1s';
  doc.receivers = doc.receivers.map((r) => ({
    name: r.name,
    webhook_configs: [{ url: `${receiverBaseUrl}/${r.name}`, send_resolved: true }],
  }));
  return stringify(doc);
}

/** A child process with the tail of its output kept for error messages. */
class Daemon {
  private output = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolvePromise) => child.once('exit', (code) => resolvePromise(code)));
  }

  get tail(): string {
    return this.output;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

async function waitReady(daemon: Daemon, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (daemon.child.exitCode !== null) throw new Error(`${daemon.name} exited with ${daemon.child.exitCode}:\n${daemon.tail}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${daemon.name} not ready at ${url} within ${timeoutMs} ms:\n${daemon.tail}`);
}

/** One sample of an instant-vector query. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A running Prometheus + Alertmanager pair owned by a test. */
export interface PromStack {
  prometheusUrl: string;
  alertmanagerUrl: string;
  /** Temp dir holding the generated configs and both data dirs (removed by stop). */
  dir: string;
  /** Runs an instant query; throws with Prometheus' error text when the query is invalid. */
  query(expr: string): Promise<PromSample[]>;
  /** Stops both processes (SIGTERM, then SIGKILL after 5 s) and removes the temp dir. */
  stop(): Promise<void>;
}

/** Options of startPromStack. */
export interface PromStackOptions {
  /** `host:port` serving credwatch's metrics. */
  target: string;
  /** Each Alertmanager receiver posts to `${receiverBaseUrl}/<receiver name>`. */
  receiverBaseUrl: string;
  metricsPath?: string;
  /** Replaces every alert's `for:` (default `1s`). */
  forDuration?: string;
  readyTimeoutMs?: number;
}

/**
 * Starts real `prometheus` (scraping `target` every 1s, evaluating the shipped rules every 1s with `for:`
 * shortened) and Alertmanager (the shipped routing, receivers pointed at loopback) on free loopback ports,
 * and waits until both are ready. Call `stop()` in afterAll.
 */
export async function startPromStack(options: PromStackOptions): Promise<PromStack> {
  const prometheusBin = requireBinary('prometheus');
  const alertmanagerBin = requireBinary('alertmanager', 'prometheus-alertmanager');
  const dir = mkdtempSync(join(tmpdir(), 'credwatch-promstack-'));
  const [promPort, amPort] = [await freePort(), await freePort()];
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;

  writeFileSync(join(dir, 'credwatch.rules.yml'), shortenedRules(readFileSync(RULES_FILE, 'utf8'), options.forDuration ?? '1s'));
  writeFileSync(join(dir, 'alertmanager.yml'), testAlertmanagerConfig(readFileSync(ALERTMANAGER_FILE, 'utf8'), options.receiverBaseUrl));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
      rule_files: ['credwatch.rules.yml'],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
      scrape_configs: [
        { job_name: 'credwatch', metrics_path: options.metricsPath ?? '/metrics', static_configs: [{ targets: [options.target] }] },
      ],
    }),
  );

  const daemons: Daemon[] = [];
  const stop = async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const am = new Daemon(
      'alertmanager',
      spawn(
        alertmanagerBin,
        [
          `--config.file=${join(dir, 'alertmanager.yml')}`,
          `--storage.path=${join(dir, 'am-data')}`,
          `--web.listen-address=127.0.0.1:${amPort}`,
          '--cluster.listen-address=',
          '--log.level=warn',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    daemons.push(am);
    const prom = new Daemon(
      'prometheus',
      spawn(
        prometheusBin,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'prom-data')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
          '--rules.alert.resend-delay=1s',
          '--log.level=warn',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    daemons.push(prom);
    const prometheusUrl = `http://127.0.0.1:${promPort}`;
    const alertmanagerUrl = `http://127.0.0.1:${amPort}`;
    await Promise.all([
      waitReady(am, `${alertmanagerUrl}/-/ready`, readyTimeoutMs),
      waitReady(prom, `${prometheusUrl}/-/ready`, readyTimeoutMs),
    ]);
    return {
      prometheusUrl,
      alertmanagerUrl,
      dir,
      async query(expr: string): Promise<PromSample[]> {
        const response = await fetch(`${prometheusUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
        const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: PromSample[] } };
        if (body.status !== 'success') throw new Error(`query failed: ${body.error ?? response.status} in ${expr}`);
        return body.data?.resultType === 'vector' ? body.data.result : [];
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One Alertmanager webhook notification as a receiver gets it. */
export interface AlertNotification {
  receiver: string;
  status: 'firing' | 'resolved';
  alerts: Array<{ status: 'firing' | 'resolved'; labels: Record<string, string>; annotations: Record<string, string> }>;
}

/** A loopback HTTP server recording every Alertmanager notification posted to it. */
export interface AlertReceiver {
  /** Base URL to hand to startPromStack as `receiverBaseUrl`. */
  baseUrl: string;
  received: Array<{ path: string; body: AlertNotification }>;
  /** Resolves with the first notification carrying `alertname` in `status`; throws after `timeoutMs`. */
  waitFor(alertname: string, status: 'firing' | 'resolved', timeoutMs: number): Promise<{ path: string; body: AlertNotification }>;
  close(): Promise<void>;
}

/** Starts an AlertReceiver on 127.0.0.1 and a free port. */
export async function startAlertReceiver(): Promise<AlertReceiver> {
  const received: Array<{ path: string; body: AlertNotification }> = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      try {
        received.push({ path: req.url ?? '', body: JSON.parse(text) as AlertNotification });
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  const { port } = server.address() as AddressInfo;
  const find = (alertname: string, status: string) =>
    received.find((r) => r.body.alerts.some((a) => a.labels['alertname'] === alertname && a.status === status));
  return {
    baseUrl: `http://127.0.0.1:${port}/alertmanager`,
    received,
    async waitFor(alertname, status, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = find(alertname, status);
        if (hit) return hit;
        if (Date.now() > deadline) {
          const seen = received.map((r) => `${r.path} ${r.body.status} [${r.body.alerts.map((a) => a.labels['alertname']).join(', ')}]`);
          throw new Error(`no ${status} ${alertname} within ${timeoutMs} ms; received: ${seen.join('; ') || 'nothing'}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    close: () => new Promise<void>((resolvePromise) => server.close(() => resolvePromise())),
  };
}
