import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/main.js';
import type { StartedSimulator } from '../../src/sim/simulator.js';
import { startAlertReceiver, startPromStack, type AlertReceiver, type PromStack } from '../helpers/prom-stack.js';
import { REPO_ROOT } from '../helpers/prom-stack.js';
import { exposedMetricTypes, missingCredwatchMetrics, shippedExpressions } from '../helpers/promql-metrics.js';
import { testRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { TEST_SIM_ACCOUNT, startTestSimulator } from '../helpers/simulator.js';

/**
 * The whole alerting path with real parts: simulator → credwatch (real Redis) → Prometheus with the shipped
 * rules (`for:` shortened) → Alertmanager with the shipped routing → a loopback receiver.
 */
const prefix = uniquePrefix('alerting-e2e');
let sim: StartedSimulator | undefined;
let daemon: Daemon | undefined;
let receiver: AlertReceiver | undefined;
let stack: PromStack | undefined;
let userId = '';

async function simPost(path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${sim?.url}/_sim${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`simulator ${path} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

async function category(): Promise<string> {
  const samples = (await stack?.query('max by (category) (credwatch_credentials) > 0')) ?? [];
  return samples.map((s) => s.metric['category']).join(',');
}

beforeAll(async () => {
  sim = await startTestSimulator({ users: 0 });
  ({ id: userId } = (await simPost('/users', {
    clientEnvironment: 'PRODUCTION',
    events: [{ statusCode: 200, body: '{"organizations": []}', createdDate: new Date(Date.now() - 60_000).toISOString() }],
  })) as { id: string });
  daemon = await startDaemon({
    env: {
      LEAF_API_URL: sim.url,
      LEAF_USERNAME: TEST_SIM_ACCOUNT.username,
      LEAF_PASSWORD: TEST_SIM_ACCOUNT.password,
      REDIS_URL: testRedisUrl(),
      CREDWATCH_PREFIX: prefix,
      CREDWATCH_POLL_INTERVAL: '2s',
      CREDWATCH_PORT: '0',
      CREDWATCH_HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
    },
  });
  receiver = await startAlertReceiver();
  const metricsUrl = new URL(daemon.metricsUrl ?? '');
  stack = await startPromStack({ target: metricsUrl.host, metricsPath: metricsUrl.pathname, receiverBaseUrl: receiver.baseUrl });
});

afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
  await daemon?.close();
  await sim?.close();
  const { cleanup } = await testRedis(prefix);
  await cleanup();
});

describe('alerting end to end', () => {
  it('a credential entering environment_mismatch pages the team receiver and resolves when it heals', { timeout: 60_000 }, async () => {
    if (!receiver || !stack) throw new Error('not started');
    const deadline = Date.now() + 20_000;
    while ((await category()) !== 'healthy' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(await category()).toBe('healthy');

    await simPost(`/users/${userId}/events`, [
      { statusCode: 400, body: '{"__type": "ResourceNotFoundException", "message": "User pool client 1example23456789 does not exist."}' },
    ]);
    const firing = await receiver.waitFor('CredwatchEnvironmentMismatch', 'firing', 25_000);
    expect(firing.path).toBe('/alertmanager/team');
    expect(firing.body.alerts[0]?.labels).toMatchObject({ category: 'environment_mismatch', provider: 'panorama', severity: 'warning' });

    await simPost(`/users/${userId}/events`, [{ statusCode: 200, body: '{"organizations": []}' }]);
    const resolved = await receiver.waitFor('CredwatchEnvironmentMismatch', 'resolved', 25_000);
    expect(resolved.path).toBe('/alertmanager/team');
  });

  it('exports every credwatch_* metric the dashboards and rules name', async () => {
    const response = await fetch(daemon?.metricsUrl ?? '');
    expect(response.status).toBe(200);
    expect(missingCredwatchMetrics(shippedExpressions(REPO_ROOT), exposedMetricTypes(await response.text()))).toEqual([]);
  });
});
