import { afterEach, describe, expect, it } from 'vitest';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { simEvent, startTestDaemon, waitForSweepDone } from './helpers/daemon.js';
import { deleteKeys, testRedis, uniquePrefix } from './helpers/redis.js';
import { simLeafClient, startTestSimulator } from './helpers/simulator.js';
import { TEST_SECRET } from './helpers/webhook-fixtures.js';
import { WebhookReceiver, type ReceivedRequest } from './helpers/webhook-receiver.js';

const ALERTS_SECRET = 'leaf-alerts-e2e-secret';
const USERS = 20;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function forUser(leafUserId: string, type: string) {
  return (r: ReceivedRequest) => {
    const body = JSON.parse(r.body) as { type: string; data: { leafUserId: string } };
    return body.type === type && body.data.leafUserId === leafUserId;
  };
}

describe('push path through the daemon: Leaf alert → POST /leaf/alerts → poll → webhook', () => {
  it('delivers the re-auth webhook within seconds of a simulator alert, without waiting for the sweep', async () => {
    const prefix = uniquePrefix('leaf-push');
    const { redis, cleanup } = await testRedis(prefix);
    cleanups.unshift(cleanup);
    const sim: StartedSimulator = await startTestSimulator({ users: USERS });
    cleanups.unshift(() => sim.close());
    const receiver = await WebhookReceiver.start();
    cleanups.unshift(() => receiver.stop());
    const daemon = await startTestDaemon(sim, prefix, {
      env: {
        CREDWATCH_WEBHOOK_URL: receiver.url(),
        CREDWATCH_WEBHOOK_SECRET: TEST_SECRET,
        CREDWATCH_POLL_INTERVAL: '1h',
        LEAF_ALERTS_SECRET: ALERTS_SECRET,
      },
    });
    cleanups.unshift(async () => {
      await daemon.close();
      await deleteKeys(redis, prefix);
    });
    await waitForSweepDone(daemon, USERS);

    const leaf = simLeafClient(sim);
    cleanups.unshift(async () => leaf.close());
    const healthy: string[] = [];
    for (const id of sim.sim.userIds())
      if ((await daemon.store.get('panorama', id))?.category === 'healthy' && sim.sim.user(id)?.credential?.status === 'OK')
        healthy.push(id);
    const [pushed, swept] = healthy;
    if (pushed === undefined || swept === undefined) throw new Error('expected two healthy simulated users');

    // With the push path: the simulator pushes a signed alert when the credential turns UNAUTHENTICATED.
    const hook = await leaf.createAlertWebhook({
      events: ['credentialsUnauthenticated', 'credentialsLimitedPermission'],
      name: 'credwatch',
      secret: ALERTS_SECRET,
      url: `${daemon.httpUrl}/leaf/alerts`,
    });
    const brokeAt = Date.now();
    await simEvent(sim, pushed, 'expired');
    const [webhook] = await receiver.waitFor(1, 15_000, forUser(pushed, 'credential.action_required'));
    const pushLatencyMs = (webhook as ReceivedRequest).at - brokeAt;
    expect(await daemon.metrics.leafAlerts.get().then((m) => m.values.find((v) => v.labels['outcome'] === 'accepted')?.value)).toBe(1);

    // Without it: nothing arrives until a poll runs; the sweep finds it.
    await leaf.deleteAlertWebhook(hook.id);
    const brokeAt2 = Date.now();
    await simEvent(sim, swept, 'expired');
    await new Promise((r) => setTimeout(r, 3000));
    expect(receiver.requests.filter(forUser(swept, 'credential.action_required'))).toEqual([]);
    const sweepAt = Date.now();
    await daemon.sweepNow();
    const [late] = await receiver.waitFor(1, 30_000, forUser(swept, 'credential.action_required'));
    const sweepToWebhookMs = (late as ReceivedRequest).at - sweepAt;
    process.stderr.write(
      `push path: break → webhook ${pushLatencyMs} ms; without it: no webhook for ${sweepAt - brokeAt2} ms, then sweep → webhook ${sweepToWebhookMs} ms (${USERS} users)\n`,
    );
  });
});
