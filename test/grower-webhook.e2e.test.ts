import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { api, simEvent, startTestDaemon, waitFor, waitForSweepDone } from './helpers/daemon.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from './helpers/redis.js';
import { startTestSimulator } from './helpers/simulator.js';
import { TEST_SECRET } from './helpers/webhook-fixtures.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

describe('grower identity end to end (simulator listing → state → API → signed webhook)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  for (const includeEmail of [true, false]) {
    it(`names the grower in the API and the webhook${includeEmail ? '' : ', without the email when CREDWATCH_WEBHOOK_INCLUDE_EMAIL=false'}`, async () => {
      const sim: StartedSimulator = await startTestSimulator({ users: 6, seed: 4 });
      cleanups.push(() => sim.close());
      const receiver = await WebhookReceiver.start();
      cleanups.push(() => receiver.stop());
      const prefix = uniquePrefix(`grower-e2e-${includeEmail}`);
      const redis = new Redis(testRedisUrl());
      cleanups.push(async () => {
        await deleteKeys(redis, prefix);
        redis.disconnect();
      });
      const daemon = await startTestDaemon(sim, prefix, {
        env: {
          CREDWATCH_WEBHOOK_URL: receiver.url(),
          CREDWATCH_WEBHOOK_SECRET: TEST_SECRET,
          CREDWATCH_WEBHOOK_INCLUDE_EMAIL: String(includeEmail),
        },
      });
      cleanups.push(() => daemon.close());
      await daemon.sweepNow();
      await waitForSweepDone(daemon, 6);

      const id = sim.sim.userIds().find((u) => sim.sim.expectedCategory(u) === 'healthy') ?? '';
      const profile = sim.sim.user(id);
      expect(profile?.externalId).toBeTruthy();
      const found = await api<{ items: Array<{ leafUserId: string; grower: unknown }> }>(
        daemon,
        `/api/credentials?externalId=${encodeURIComponent(profile?.externalId ?? '')}`,
      );
      expect(found.body.items.map((i) => i.leafUserId)).toEqual([id]);
      expect(found.body.items[0]?.grower).toEqual({ externalId: profile?.externalId, name: profile?.name, email: profile?.email });

      await simEvent(sim, id, 'expired');
      await daemon.requestPoll('panorama', id);
      await waitFor('the re-auth webhook', async () => (await receiver.waitFor(1, 15_000, (r) => r.body.includes(id))).length > 0);
      const [request] = await receiver.waitFor(1, 15_000, (r) => r.body.includes(id));
      const data = (JSON.parse(request?.body ?? '{}') as { data: { grower: Record<string, unknown>; since: string } }).data;
      const expected: Record<string, unknown> = { externalId: profile?.externalId, name: profile?.name };
      if (includeEmail) expected['email'] = profile?.email;
      expect(data.grower).toEqual(expected);
      expect(data.since).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    });
  }
});
