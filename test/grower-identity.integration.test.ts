import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCredentialsRouter } from '../src/http/routes/credentials.route.js';
import { buildAdminApp } from '../src/http/app.js';
import { createLogger } from '../src/logger.js';
import type { PollObservation } from '../src/monitor/apply-poll-args.js';
import { CredentialStore } from '../src/monitor/credential-store.js';
import type { Transition } from '../src/monitor/transition.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';

function observation(leafUserId: string, overrides: Partial<PollObservation> = {}): PollObservation {
  return {
    provider: 'panorama',
    leafUserId,
    observedAtMs: 1_000,
    credentialId: `cred-${leafUserId}`,
    clientEnvironment: 'PRODUCTION',
    category: 'cognito_token_expired',
    action: 'reauthenticate',
    since: '2026-11-01T00:00:00Z',
    ruleId: 'cognito.refresh_expired',
    reason: 'Refresh Token has expired',
    evidence: { eventId: 'e1', statusCode: 400, excerpt: '' },
    cursorMs: 500,
    lastEventId: 'e1',
    ...overrides,
  };
}

describe('grower identity in the credential state (real Redis, real HTTP)', () => {
  let prefix: string;
  let redis: Redis;
  let cleanup: () => Promise<void>;
  let store: CredentialStore;

  beforeEach(async () => {
    prefix = uniquePrefix('grower');
    ({ redis, cleanup } = await testRedis(prefix));
    store = new CredentialStore(redis, prefix, { historyLimit: 5, providers: ['panorama'] });
  });
  afterEach(async () => cleanup());

  /** Every entry of the externalId index, from all its buckets. */
  async function externalIdIndex(): Promise<Record<string, string>> {
    const keys = await redis.keys(`${prefix}:growers:byext:*`);
    const entries = await Promise.all(keys.map((k) => redis.hgetall(k)));
    return Object.assign({}, ...entries) as Record<string, string>;
  }

  it('keeps externalId, name and email from the listing as small hash fields, skipping empty ones', async () => {
    await store.markSeen(['u1', 'u2'], 100, [
      { id: 'u1', externalId: 'crm-17', name: 'Ada Farms', email: 'ada@example-farms.com' },
      { id: 'u2', externalId: undefined, name: '', email: undefined },
    ]);
    await store.applyPoll(observation('u1'), new Date('2026-11-02T10:00:00.000Z'));
    await store.applyPoll(observation('u2'), new Date('2026-11-02T10:00:00.000Z'));
    expect((await store.get('panorama', 'u1'))?.grower).toEqual({
      externalId: 'crm-17',
      name: 'Ada Farms',
      email: 'ada@example-farms.com',
    });
    expect((await store.get('panorama', 'u2'))?.grower).toBeNull();
    const fields = await redis.hkeys(`${prefix}:cred:panorama:u2`);
    expect(fields.filter((f) => f.startsWith('g'))).toEqual([]);
    // Listpack encoding survives: the identity costs bytes, not a hashtable.
    expect(await redis.object('ENCODING', `${prefix}:cred:panorama:u1`)).toBe('listpack');
    // The transition (history, outbox, webhook) carries the grower.
    const [t] = (await store.history('panorama', 'u1')) as Transition[];
    expect(t?.grower).toEqual({ externalId: 'crm-17', name: 'Ada Farms', email: 'ada@example-farms.com' });
    // The state's `since` is ISO 8601 UTC with milliseconds, whatever Leaf's format.
    expect((await store.get('panorama', 'u1'))?.since).toBe('2026-11-01T00:00:00.000Z');
  });

  it('indexes every user of a shared externalId, and reads and empties the former sorted-set index', async () => {
    await store.markSeen(['u1', 'u2'], 100, [
      { id: 'u1', externalId: 'crm-9' },
      { id: 'u2', externalId: 'crm-9' },
    ]);
    await store.applyPoll(observation('u1'), new Date(2_000));
    await store.applyPoll(observation('u2'), new Date(2_000));
    expect(await externalIdIndex()).toEqual({ 'crm-9': 'u1\u0000u2' });
    expect((await store.findByExternalId('panorama', 'crm-9')).map((s) => s.leafUserId)).toEqual(['u1', 'u2']);
    await store.markSeen(['u1'], 200, [{ id: 'u1', externalId: 'crm-8' }]);
    expect(await externalIdIndex()).toEqual({ 'crm-9': 'u2', 'crm-8': 'u1' });

    // A user indexed by an earlier version (sorted set) is found, and moves to the hash when seen again.
    await redis.hset(`${prefix}:cred:panorama:u3`, 'gx', 'crm-3');
    await redis.zadd(`${prefix}:growers:ext`, 0, 'crm-3\u0000u3');
    await store.applyPoll(observation('u3'), new Date(2_000));
    expect((await store.findByExternalId('panorama', 'crm-3')).map((s) => s.leafUserId)).toEqual(['u3']);
    await store.markSeen(['u3'], 300, [{ id: 'u3', externalId: 'crm-3' }]);
    expect(await redis.exists(`${prefix}:growers:ext`)).toBe(0);
    expect((await store.findByExternalId('panorama', 'crm-3')).map((s) => s.leafUserId)).toEqual(['u3']);
  });

  it('finds users by externalId, and the index follows a changed externalId and a removed user', async () => {
    await store.markSeen(['u1', 'u2'], 100, [
      { id: 'u1', externalId: 'crm-17', name: 'Ada' },
      { id: 'u2', externalId: 'crm-2', name: 'Bo' },
    ]);
    await store.applyPoll(observation('u1'), new Date(2_000));
    await store.applyPoll(observation('u2'), new Date(2_000));
    expect((await store.findByExternalId('panorama', 'crm-17')).map((s) => s.leafUserId)).toEqual(['u1']);
    // A prefix of another id is not a match.
    expect(await store.findByExternalId('panorama', 'crm-1')).toEqual([]);

    await store.markSeen(['u1'], 200, [{ id: 'u1', externalId: 'crm-1', name: 'Ada' }]);
    expect(await store.findByExternalId('panorama', 'crm-17')).toEqual([]);
    expect((await store.findByExternalId('panorama', 'crm-1')).map((s) => s.leafUserId)).toEqual(['u1']);

    // u2 is not listed any more and not polled since: removed, and gone from the index.
    await store.markSeen(['u1'], 3_000, [{ id: 'u1', externalId: 'crm-1', name: 'Ada' }]);
    expect(await store.removeUnseen(2_500, 4_000)).toBe(1);
    expect(await store.findByExternalId('panorama', 'crm-2')).toEqual([]);
    expect(await externalIdIndex()).toEqual({ 'crm-1': 'u1' });

    const app = buildAdminApp({
      adminToken: 'grower-test-token',
      logger: createLogger({ level: 'silent', format: 'json' }),
      publicRouters: [],
      adminRouters: [createCredentialsRouter({ store, providers: ['panorama'], requestPoll: async () => undefined })],
      browserRouters: [],
    });
    const { createServer } = await import('node:http');
    const server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const res = await fetch(`http://127.0.0.1:${port}/api/credentials?externalId=crm-1`, {
        headers: { authorization: 'Bearer grower-test-token' },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { items: Array<{ leafUserId: string; grower: unknown }>; nextCursor: null };
      expect(body).toEqual({
        items: [expect.objectContaining({ leafUserId: 'u1', grower: { externalId: 'crm-1', name: 'Ada', email: null } })],
        nextCursor: null,
      });
      const one = (await (
        await fetch(`http://127.0.0.1:${port}/api/credentials/u1`, { headers: { authorization: 'Bearer grower-test-token' } })
      ).json()) as { grower: unknown };
      expect(one.grower).toEqual({ externalId: 'crm-1', name: 'Ada', email: null });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
