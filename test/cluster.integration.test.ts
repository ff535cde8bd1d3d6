import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { loadConfig, parseClusterUrl } from '../src/config.js';
import { startDaemon, type Daemon } from '../src/main.js';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { api, daemonEnv, simEvent, testLogger, waitFor, waitForSweepDone } from './helpers/daemon.js';
import { RedisClusterProcess } from './helpers/redis-cluster.js';
import { startTestSimulator } from './helpers/simulator.js';
import { TEST_SECRET } from './helpers/webhook-fixtures.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

describe('the daemon on a three-node Redis Cluster (hash-tagged prefix)', () => {
  const USERS = 60;
  let cluster: RedisClusterProcess;
  let sim: StartedSimulator;
  let receiver: WebhookReceiver;
  let daemon: Daemon;

  beforeAll(async () => {
    // Fails (never skips) when redis-server or redis-cli is missing, naming the packages to install.
    cluster = await RedisClusterProcess.start();
    sim = await startTestSimulator({ users: USERS, seed: 11 });
    receiver = await WebhookReceiver.start();
    const env = daemonEnv(sim, '{credwatch-test-xyz}', {
      REDIS_URL: cluster.url,
      CREDWATCH_WEBHOOK_URL: receiver.url(),
      CREDWATCH_WEBHOOK_SECRET: TEST_SECRET,
    });
    daemon = await startDaemon({ env, roles: ['scheduler', 'worker', 'http'], logger: testLogger() });
  }, 60_000);

  afterAll(async () => {
    await daemon?.close();
    await receiver?.stop();
    await sim?.close();
    await cluster?.dispose();
  });

  it('runs on an ioredis Cluster and keeps every key in one hash slot', async () => {
    expect(daemon.redis).toBeInstanceOf(Cluster);
    await waitForSweepDone(daemon, USERS, 45_000);
    const nodes = (daemon.redis as unknown as Cluster).nodes('master');
    expect(nodes).toHaveLength(3);
    // Every credwatch key lives on the node owning the tag's slot; the other two masters hold none.
    const perNode = await Promise.all(nodes.map(async (node) => (await node.keys('{credwatch-test-xyz}*')).length));
    expect(perNode.filter((n) => n > 0)).toHaveLength(1);
  });

  it('brings every seeded credential into its expected category', async () => {
    await waitForSweepDone(daemon, USERS, 45_000);
    const wrong: string[] = [];
    for (const id of sim.sim.userIds()) {
      const state = await daemon.store.get('panorama', id);
      if (state?.category !== sim.sim.expectedCategory(id))
        wrong.push(`${id}: got ${state?.category}, expected ${sim.sim.expectedCategory(id)}`);
    }
    expect(wrong).toEqual([]);
    const summary = await api<{ total: number; categories: Record<string, number> }>(daemon, '/api/summary');
    expect(summary.status).toBe(200);
    expect(summary.body.total).toBe(USERS);
    for (const [category, n] of Object.entries(sim.sim.expected())) expect(summary.body.categories[category] ?? 0).toBe(n);
  });

  it('records a scripted transition once, shows it through the API and delivers its webhook', async () => {
    await waitForSweepDone(daemon, USERS, 45_000);
    const userId = sim.sim.userIds().find((u) => sim.sim.expectedCategory(u) === 'healthy') ?? '';
    expect(userId).not.toBe('');
    await simEvent(sim, userId, 'expired');
    expect((await api(daemon, `/api/credentials/${userId}/poll`, { method: 'POST' })).status).toBe(202);
    await waitFor(
      'the credential to be expired',
      async () => (await daemon.store.get('panorama', userId))?.category === 'cognito_token_expired',
    );
    // A second poll of the unchanged state adds nothing.
    await daemon.requestPoll('panorama', userId);
    await waitForSweepDone(daemon, USERS, 45_000);

    const detail = await api<{ category: string; history: Array<{ from: string | null; to: string }> }>(
      daemon,
      `/api/credentials/${userId}`,
    );
    expect(detail.status).toBe(200);
    expect(detail.body.category).toBe('cognito_token_expired');
    expect(detail.body.history.map((t) => `${t.from}->${t.to}`)).toEqual(['healthy->cognito_token_expired']);

    // The outbox stream, read with XREADGROUP through the Cluster client, reaches the receiver.
    const hooks = await receiver.waitFor(1, 20_000, (r) => r.body.includes(userId));
    const body = JSON.parse(hooks[0]?.body ?? '{}') as { data?: { leafUserId?: string; category?: string } };
    expect(body.data).toMatchObject({ leafUserId: userId, category: 'cognito_token_expired' });
  });

  it('refuses a cluster URL with a prefix that has no hash tag', () => {
    expect(() => loadConfig({ REDIS_URL: cluster.url, CREDWATCH_PREFIX: 'credwatch' })).toThrow(/hash tag/);
    expect(loadConfig({ REDIS_URL: cluster.url, CREDWATCH_PREFIX: '{cw}' }).redis.cluster?.nodes).toHaveLength(3);
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).redis.cluster).toBeUndefined();
  });

  it('parses seed nodes and credentials from redis+cluster:// URLs and rejects malformed ones without echoing them', () => {
    expect(parseClusterUrl('redis+cluster://app:s3cr%40t@10.0.0.1:7000,redis-b.internal:7001')).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-b.internal', port: 7001 },
      ],
      username: 'app',
      password: 's3cr@t',
    });
    expect(parseClusterUrl('redis+cluster://:only-password@h:1')).toEqual({
      nodes: [{ host: 'h', port: 1 }],
      username: undefined,
      password: 'only-password',
    });
    for (const bad of [
      'redis+cluster://',
      'redis+cluster://h',
      'redis+cluster://h:0',
      'redis+cluster://h:70000',
      'redis+cluster://h:1,',
      'redis://h:1',
    ]) {
      expect(parseClusterUrl(bad), bad).toBeUndefined();
    }
    let message = '';
    try {
      loadConfig({ REDIS_URL: 'redis+cluster://app:hunter2@h:1,bad', CREDWATCH_PREFIX: '{cw}' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/REDIS_URL: expected a redis:\/\/, rediss:\/\/ or redis\+cluster:\/\//);
    expect(message).not.toContain('hunter2');
  });
});
