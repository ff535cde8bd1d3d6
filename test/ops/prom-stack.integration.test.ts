import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/metrics.js';
import { REPO_ROOT, RULES_FILE, startAlertReceiver, startPromStack, type AlertReceiver, type PromStack } from '../helpers/prom-stack.js';

/** What the fake credwatch reports; the test flips `mismatch`. */
const state = { mismatch: 0 };
let metricsServer: Server | undefined;
let receiver: AlertReceiver | undefined;
let stack: PromStack | undefined;

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

beforeAll(async () => {
  const metrics = createMetrics(new Registry(), { providers: ['panorama'], endpoints: ['demo'], version: '0.0.0-test' });
  metrics.setScrapeSources({
    credentialCounts: async () => [
      { provider: 'panorama', category: 'healthy', count: 5 },
      { provider: 'panorama', category: 'environment_mismatch', count: state.mismatch },
    ],
    oldestPollAges: async () => [{ provider: 'panorama', ageSeconds: 30 }],
    lastSweepSuccess: async () => Date.now() / 1000,
    queueCounts: async () => [{ queue: 'poll', state: 'waiting', count: 0 }],
    deadLetters: async () => [],
  });
  metricsServer = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => metricsServer?.listen(0, '127.0.0.1', resolve));
  const metricsPort = (metricsServer.address() as AddressInfo).port;
  receiver = await startAlertReceiver();
  stack = await startPromStack({ target: `127.0.0.1:${metricsPort}`, receiverBaseUrl: receiver.baseUrl });
});

afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
  await new Promise((resolve) => (metricsServer ? metricsServer.close(resolve) : resolve(undefined)));
});

describe('Prometheus + Alertmanager with the shipped rules and routing', () => {
  it('pages environment_mismatch through Alertmanager to the team receiver, then resolves it', { timeout: 60_000 }, async () => {
    if (!receiver || !stack) throw new Error('stack not started');
    const live = stack;
    // Silent while the gauge is 0: scraped as 0 and still no alert after a few 1s evaluations.
    await waitFor('a scrape with environment_mismatch = 0', 15_000, async () => {
      const samples = await live.query('credwatch_credentials{category="environment_mismatch"}');
      return samples[0]?.value[1] === '0' ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 3000));
    expect(await live.query('ALERTS{alertname="CredwatchEnvironmentMismatch"}')).toEqual([]);
    expect(receiver.received.filter((r) => r.body.alerts.some((a) => a.labels['alertname'] === 'CredwatchEnvironmentMismatch'))).toEqual(
      [],
    );

    state.mismatch = 2;
    const firing = await receiver.waitFor('CredwatchEnvironmentMismatch', 'firing', 25_000);
    expect(firing.path).toBe('/alertmanager/team');
    const alert = firing.body.alerts.find((a) => a.labels['alertname'] === 'CredwatchEnvironmentMismatch');
    expect(alert?.labels).toMatchObject({ severity: 'warning', category: 'environment_mismatch', provider: 'panorama' });
    expect(alert?.annotations['summary']).toBe('2 panorama credentials point at the wrong Panorama environment');

    state.mismatch = 0;
    const resolved = await receiver.waitFor('CredwatchEnvironmentMismatch', 'resolved', 25_000);
    expect(resolved.path).toBe('/alertmanager/team');
  });

  it('evaluates every shipped rule without error against live data', { timeout: 30_000 }, async () => {
    const url = `${stack?.prometheusUrl}/api/v1/rules`;
    type Rule = { name: string; health: string; lastError?: string; lastEvaluation: string };
    const expected = (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ rules: unknown[] }> }).groups.reduce(
      (n, g) => n + g.rules.length,
      0,
    );
    const rules = await waitFor('every rule evaluated', 20_000, async () => {
      const body = (await (await fetch(url)).json()) as { data: { groups: Array<{ rules: Rule[] }> } };
      const all = body.data.groups.flatMap((g) => g.rules);
      return all.length === expected && all.every((r) => !r.lastEvaluation.startsWith('0001')) ? all : undefined;
    });
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError ?? r.health}`)).toEqual([]);
  });

  it('accepts every dashboard expression as valid PromQL', { timeout: 30_000 }, async () => {
    const dir = join(REPO_ROOT, 'grafana', 'dashboards');
    const exprs: string[] = [];
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(collect);
      if (node === null || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        if (key === 'expr' && typeof value === 'string') exprs.push(value);
        else collect(value);
      }
    };
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) collect(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    expect(exprs.length).toBeGreaterThan(10);
    const failures: string[] = [];
    for (const expr of exprs) {
      const concrete = expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*').replaceAll('$provider', '.*');
      await stack?.query(concrete).catch((error: unknown) => failures.push(String(error)));
    }
    expect(failures).toEqual([]);
  });

  it('inhibits warnings while CredwatchDown fires', { timeout: 30_000 }, async () => {
    const post = (labels: Record<string, string>) => ({
      labels,
      annotations: { summary: 'inhibition test' },
      startsAt: new Date().toISOString(),
    });
    const response = await fetch(`${stack?.alertmanagerUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        post({ alertname: 'CredwatchDown', severity: 'critical', job: 'credwatch', instance: 'x:8080' }),
        post({ alertname: 'InhibitionProbeWarning', severity: 'warning' }),
        post({ alertname: 'InhibitionProbeCritical', severity: 'critical' }),
      ]),
    });
    expect(response.status).toBe(200);
    type AmAlert = { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } };
    const alerts = await waitFor('inhibited probe', 10_000, async () => {
      const list = (await (await fetch(`${stack?.alertmanagerUrl}/api/v2/alerts`)).json()) as AmAlert[];
      const warning = list.find((a) => a.labels['alertname'] === 'InhibitionProbeWarning');
      return warning?.status.state === 'suppressed' ? list : undefined;
    });
    const critical = alerts.find((a) => a.labels['alertname'] === 'InhibitionProbeCritical');
    expect(critical?.status.state).toBe('active');
    expect(alerts.find((a) => a.labels['alertname'] === 'InhibitionProbeWarning')?.status.inhibitedBy.length).toBe(1);
  });
});
