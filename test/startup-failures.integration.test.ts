import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from '../src/main.js';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { daemonEnv, testLogger } from './helpers/daemon.js';
import { freePort } from './helpers/redis-server.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from './helpers/redis.js';
import { startTestSimulator } from './helpers/simulator.js';

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found.sort();
}

describe('a failed start (real Redis, real simulator)', () => {
  let sim: StartedSimulator;
  let redis: Redis;
  const prefixes: string[] = [];

  beforeAll(async () => {
    sim = await startTestSimulator({ users: 2 });
    redis = new Redis(testRedisUrl());
  });

  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeys(redis, prefix);
    redis.disconnect();
    await sim.close();
  });

  function prefix(name: string): string {
    const p = uniquePrefix(name);
    prefixes.push(p);
    return p;
  }

  it('names ECONNREFUSED when nothing listens on the Redis port', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const start = startDaemon({ env: daemonEnv(sim, prefix('refused'), { REDIS_URL: url }), logger: testLogger() });
    await expect(start).rejects.toMatchObject({ code: 'REDIS_UNAVAILABLE' });
    await expect(start).rejects.toThrow(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });

  it('names the unknown host (ENOTFOUND or EAI_AGAIN)', async () => {
    const start = startDaemon({
      env: daemonEnv(sim, prefix('notfound'), { REDIS_URL: 'redis://credwatch-no-such-host.invalid:6379' }),
      logger: testLogger(),
    });
    await expect(start).rejects.toThrow(/cannot reach Redis at .*: .*(ENOTFOUND|EAI_AGAIN)/);
  });

  it('says the Redis password was refused, without printing it', async () => {
    const url = new URL(testRedisUrl());
    url.username = 'credwatch-nobody';
    url.password = 'wrong-redis-password-123';
    const start = startDaemon({ env: daemonEnv(sim, prefix('auth'), { REDIS_URL: url.toString() }), logger: testLogger() });
    await expect(start).rejects.toThrow(/authentication refused/);
    await expect(start).rejects.not.toThrow(/wrong-redis-password-123/);
  });

  it('leaves no key behind when Leaf refuses the login', async () => {
    const p = prefix('leaf-refused');
    const start = startDaemon({ env: daemonEnv(sim, p, { LEAF_PASSWORD: 'wrong-password-xyz' }), logger: testLogger() });
    await expect(start).rejects.toMatchObject({ code: 'LEAF_AUTH_FAILED' });
    expect(await keysUnder(redis, p)).toEqual([]);
  });

  it('leaves no key behind when the HTTP port is taken, and keeps the keys that were there before', async () => {
    const p = prefix('port-taken');
    await redis.set(`${p}:state:panorama:earlier`, 'kept');
    const blocker = await import('node:net').then(({ createServer }) => createServer());
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)),
    );
    try {
      const start = startDaemon({ env: daemonEnv(sim, p, { CREDWATCH_PORT: String(port) }), logger: testLogger() });
      await expect(start).rejects.toThrow(/EADDRINUSE/);
    } finally {
      blocker.close();
    }
    expect(await keysUnder(redis, p)).toEqual([`${p}:state:panorama:earlier`]);
  });

  it('reports a 404 from the login URL as a wrong LEAF_API_URL, not as a refused password', async () => {
    const p = prefix('wrong-url');
    // Some other web server (a wrong host or path): every URL answers 404.
    const { createServer } = await import('node:http');
    const other = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const otherUrl = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
    const start = startDaemon({ env: daemonEnv(sim, p, { LEAF_API_URL: otherUrl }), logger: testLogger() });
    start.catch(() => undefined).finally(() => other.close());
    await expect(start).rejects.toMatchObject({ code: 'LEAF_NOT_FOUND', status: 404 });
    await expect(start).rejects.toThrow(/login URL answered HTTP 404: check LEAF_API_URL/);
    await expect(start).rejects.not.toThrow(/refused the username/);
    expect(await keysUnder(redis, p)).toEqual([]);
  });
});
