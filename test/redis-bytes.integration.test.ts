import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PollObservation } from '../src/monitor/apply-poll-args.js';
import { CredentialStore } from '../src/monitor/credential-store.js';
import { PollSchedule } from '../src/monitor/poll-schedule.js';
import { createWebhookStore } from '../src/webhooks/webhook-store.js';
import { bytesByKeyFamily } from '../src/bench/processes.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';

/** Synthetic credentials: enough for per-credential figures of the shared sorted sets and hashes. */
const N = 20_000;
/** One credential in ten fails, with evidence (an event id, a status and an excerpt longer than 64 bytes). */
const FAILING_EVERY = 10;
/**
 * The ceiling asserted, issue 17's target: 1 002 B measured (N = 20 000, Redis 7.0; 989 B at N = 100 000;
 * 1 585 B before issue 17, 1 377 B before the indexes were slimmed).
 */
const MAX_BYTES_PER_CREDENTIAL = 1_024;

const COMPONENTS: Array<[string, RegExp]> = [
  ['state hash (cred:*)', /:cred:/],
  ['history (hist:*)', /:hist:/],
  ['category index (cat:*)', /:cat:/],
  ['poll-age index (polled:*, pollage:*)', /:(polled|pollage):/],
  ['schedule (due:*)', /:due:/],
  ['credential id index (credid:*)', /:credid(:[\d*]+)?$/],
  ['externalId index (growers:byext:*)', /:growers:(byext|ext)(:[\d*]+)?$/],
  ['webhook bookkeeping (webhooks:*)', /:webhooks:/],
  ['outbox (until dispatched)', /:outbox$/],
];

describe('Redis bytes per credential (real Redis; a poll of every credential, as the daemon writes it)', () => {
  let prefix: string;
  let redis: Redis;
  let cleanup: () => Promise<void>;
  const users = Array.from({ length: N }, () => randomUUID());

  beforeAll(async () => {
    prefix = uniquePrefix('redis-bytes');
    ({ redis, cleanup } = await testRedis(prefix));
  });
  afterAll(async () => cleanup());

  function observation(user: string, i: number): PollObservation {
    const failing = i % FAILING_EVERY === 0;
    const eventId = randomUUID();
    return {
      provider: 'panorama',
      leafUserId: user,
      observedAtMs: 1_780_000_000_000 + i,
      credentialId: randomUUID(),
      clientEnvironment: 'PRODUCTION',
      category: failing ? 'cognito_token_expired' : 'healthy',
      action: failing ? 'reauthenticate' : 'none',
      since: failing ? '2026-11-01T08:15:30.123456' : '',
      ruleId: failing ? 'auth.refresh-token-expired' : 'status.2xx',
      reason: failing ? 'the refresh token expired: the grower must sign in again' : 'the provider answered with success (2xx)',
      evidence: failing
        ? { eventId, statusCode: 401, excerpt: 'NotAuthorizedException: Refresh Token has expired (request id [redacted])' }
        : { eventId, statusCode: 200, excerpt: '' },
      cursorMs: 1_779_999_000_000 + i,
      lastEventId: eventId,
      leafRequests: 2,
      credentialStatus: failing ? 'UNAUTHENTICATED' : 'ACTIVE',
      credentialFetchedAtMs: 1_780_000_000_000 + i,
    };
  }

  /** MEMORY USAGE per component: the bench's per-key-family scan (ids collapsed to `*`), grouped by COMPONENTS. */
  async function bytesByComponent(): Promise<Map<string, number>> {
    const totals = new Map<string, number>(COMPONENTS.map(([name]) => [name, 0]));
    totals.set('other', 0);
    for (const [family, { bytes }] of Object.entries(await bytesByKeyFamily(redis, prefix))) {
      const name = COMPONENTS.find(([, pattern]) => pattern.test(`:${family}`))?.[0] ?? 'other';
      totals.set(name, (totals.get(name) ?? 0) + bytes);
    }
    return totals;
  }

  it(`keeps at most ${MAX_BYTES_PER_CREDENTIAL} B per credential at ${N} credentials`, async () => {
    const store = new CredentialStore(redis, prefix, { historyLimit: 20, providers: ['panorama'] });
    const schedule = new PollSchedule(redis, prefix, ['panorama']);
    const webhooks = createWebhookStore(redis, prefix);
    const usedBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
    for (let page = 0; page < N; page += 500) {
      const ids = users.slice(page, page + 500);
      // The sweep: the listed users with their identity, then their first due time.
      const listed = ids.map((id, j) => ({
        id,
        externalId: `grower-${page + j}`,
        name: `Grower ${page + j}`,
        email: `grower${page + j}@example.com`,
      }));
      await store.markSeen(ids, 1_780_000_000_000, listed);
      await schedule.addListed(ids, 1_780_000_000_000);
      // The polls, then what the dispatcher keeps of each transition (the outbox entry is deleted once handed on).
      const results = await Promise.all(ids.map((id, j) => store.applyPoll(observation(id, page + j), new Date(1_780_000_000_500))));
      for (const r of results) {
        if (r.transition === null) continue;
        await webhooks.recordDecision({
          transitionId: r.transition.id,
          credentialKey: `panorama:${r.transition.leafUserId}`,
          basedOn: '',
          decision: { type: 'credential.action_required', category: r.transition.to },
          atMs: 1_780_000_000_500,
        });
      }
    }
    const dispatched = await redis.xrange(`${prefix}:outbox`, '-', '+');
    expect(dispatched).toHaveLength(N / FAILING_EVERY);
    for (let i = 0; i < dispatched.length; i += 500)
      await redis.xdel(`${prefix}:outbox`, ...dispatched.slice(i, i + 500).map(([id]) => id));
    const usedAfter = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);

    const totals = await bytesByComponent();
    const failingKey = `${prefix}:cred:panorama:${users[0] ?? ''}`;
    const healthyKey = `${prefix}:cred:panorama:${users[1] ?? ''}`;
    const encodings = {
      failing: [await redis.object('ENCODING', failingKey), await redis.memory('USAGE', failingKey, 'SAMPLES', 0)],
      healthy: [await redis.object('ENCODING', healthyKey), await redis.memory('USAGE', healthyKey, 'SAMPLES', 0)],
    };
    const perCredential = [...totals].map(([name, bytes]) => [name, Math.round(bytes / N)] as const);
    const total = Math.round([...totals.values()].reduce((a, b) => a + b, 0) / N);
    process.stdout.write(
      `Redis bytes per credential at ${N} credentials (MEMORY USAGE; used_memory delta ${Math.round((usedAfter - usedBefore) / N)}):\n` +
        perCredential.map(([name, bytes]) => `  ${name.padEnd(36)} ${bytes}\n`).join('') +
        `  ${'total'.padEnd(36)} ${total}\n` +
        `  state hash encoding and bytes: ${JSON.stringify(encodings)}\n`,
    );
    expect(total).toBeLessThanOrEqual(MAX_BYTES_PER_CREDENTIAL);
    // The index buckets hold about 20 entries each here: every one a compact listpack.
    expect(await redis.object('ENCODING', `${prefix}:credid:0`)).toBe('listpack');
    expect(await redis.object('ENCODING', `${prefix}:growers:byext:0`)).toBe('listpack');
  }, 120_000);
});
