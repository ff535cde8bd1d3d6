import { channel } from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { LeafError, isLeafError } from '../src/leaf/errors.js';
import { LeafClient, type LeafClientOptions } from '../src/leaf/leaf-client.js';
import { MemoryRequestBudget, RedisRequestBudget, type RequestBudget } from '../src/leaf/request-budget.js';
import { MemoryTokenStore, RedisTokenStore, type Login, type TokenStore } from '../src/leaf/token-store.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { startSimulator, type StartedSimulator } from '../src/sim/simulator.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from './helpers/redis.js';
import { freePort } from './helpers/redis-server.js';

const USERNAME = 'leaf-test@example.com';
const PASSWORD = 'pw-Very-Secret-7f3a9c';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sim(options: { users?: number; tokenTtlSeconds?: number; now?: () => number } = {}): Promise<StartedSimulator> {
  const started = await startSimulator({ users: options.users ?? 20, seed: 7, username: USERNAME, password: PASSWORD, ...options });
  cleanups.push(() => started.close());
  return started;
}

function client(s: StartedSimulator, overrides: Partial<LeafClientOptions> = {}): LeafClient {
  const c = new LeafClient({
    apiUrl: s.url,
    username: USERNAME,
    password: PASSWORD,
    requestTimeoutMs: 5000,
    maxRetries: 2,
    budget: new MemoryRequestBudget(1000),
    tokenStore: new MemoryTokenStore(),
    retry: { baseMs: 5, maxMs: 50 },
    ...overrides,
  });
  cleanups.push(() => c.close());
  return c;
}

async function caught(promise: Promise<unknown>): Promise<LeafError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LeafError) return error;
    throw error;
  }
  throw new Error('expected a LeafError, the call succeeded');
}

function redisClient(): Redis {
  const r = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  cleanups.push(() => r.disconnect());
  return r;
}

/** A token store that remembers every token it handed out, so tests can look for them in output. */
class SpyTokenStore implements TokenStore {
  readonly seen = new Set<string>();
  constructor(private readonly inner: TokenStore) {}
  async obtain(login: Login, rejected?: string): Promise<string> {
    const token = await this.inner.obtain(login, rejected);
    this.seen.add(token);
    return token;
  }
  clear(): Promise<void> {
    return this.inner.clear();
  }
}

describe('LeafClient against the simulator', () => {
  it('pages through every user with Link/X-Total-Count, one page at a time', async () => {
    const s = await sim({ users: 250 });
    const c = client(s);
    const pages = [];
    for await (const page of c.listUserPages({ size: 100 })) pages.push({ page: page.page, n: page.users.length, total: page.total });
    expect(pages).toEqual([
      { page: 0, n: 100, total: 250 },
      { page: 1, n: 100, total: 250 },
      { page: 2, n: 50, total: 250 },
    ]);
    const ids: string[] = [];
    for await (const user of c.listUsers()) ids.push(user.id);
    expect(ids).toEqual(s.sim.userIds());
    let small = 0;
    for await (const page of c.listUserPages({ size: 7 })) small += page.users.length;
    expect(small).toBe(250);
    expect(s.sim.stats().requests['list_users']).toBe(3 + 3 + 36);
  });

  it('reads credentials without tokens, events sorted and de-duplicated, and 404 as not connected', async () => {
    const s = await sim();
    const c = client(s);
    const id = s.sim.userIds()[0] ?? '';
    const found = await c.getCredential('panorama', id);
    expect(found.connected).toBe(true);
    if (found.connected) {
      expect(Object.keys(found.credential).sort()).toEqual([
        'clientEnvironment',
        'clientId',
        'createdTime',
        'id',
        'organizationCode',
        'status',
      ]);
      expect(found.credential.id).toBe(s.sim.user(id)?.credential?.id);
    }
    const created = await fetch(`${s.url}/_sim/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ clientEnvironment: 'PRODUCTION' }),
    });
    const newId = ((await created.json()) as { id: string }).id;
    await fetch(`${s.url}/_sim/users/${newId}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { id: 'e2', createdDate: '2026-11-02T10:00:00.000Z', statusCode: '400', body: '{"error":"invalid_grant"}' },
        { id: 'e1', createdDate: '2026-11-01T10:00:00.123456Z', statusCode: 200, body: '{}' },
        { id: 'e3', createdDate: '2026-11-03T10:00:00Z', statusCode: 503, body: 'down' },
      ]),
    });
    const events = await c.getEvents('panorama', newId);
    const mine = events.filter((e) => ['e1', 'e2', 'e3'].includes(e.id));
    expect(mine.map((e) => [e.id, e.statusCode])).toEqual([
      ['e1', 200],
      ['e2', 400],
      ['e3', 503],
    ]);
    const times = events.map((e) => e.createdAtMs ?? 0);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

    await fetch(`${s.url}/_sim/users/${newId}/credential`, { method: 'DELETE' });
    expect(await c.getCredential('panorama', newId)).toEqual({ connected: false });
    expect((await caught(c.getEvents('panorama', newId))).code).toBe('LEAF_NOT_FOUND');
    expect(await c.getCredential('panorama', 'no-such-user')).toEqual({ connected: false });
  });

  it('logs in again once the token nears its exp', async () => {
    const s = await sim({ tokenTtlSeconds: 1 });
    const c = client(s);
    await c.authenticate();
    await c.getCredential('panorama', s.sim.userIds()[0] ?? '');
    expect(s.sim.stats().requests['authenticate']).toBe(1);
    await new Promise((r) => setTimeout(r, 1200));
    await c.getCredential('panorama', s.sim.userIds()[0] ?? '');
    expect(s.sim.stats().requests['authenticate']).toBe(2);
  });

  it('renews the token once on a 401 and retries the request once', async () => {
    let offsetMs = 0;
    const s = await sim({ tokenTtlSeconds: 3600, now: () => Date.now() + offsetMs });
    const registry = new Registry();
    const metrics = createMetrics(registry, { providers: ['panorama'], version: 'test', defaultMetrics: false });
    const c = client(s, { metrics });
    const id = s.sim.userIds()[0] ?? '';
    await c.getCredential('panorama', id);
    offsetMs = 2 * 3600 * 1000; // Leaf now sees the cached token as expired; the client does not know yet.
    expect((await c.getCredential('panorama', id)).connected).toBe(true);
    expect(s.sim.stats().requests['authenticate']).toBe(2);
    const counts = await metrics.leafRequests.get();
    const value = (op: string, sc: string) => counts.values.find((v) => v.labels.operation === op && v.labels.status_class === sc)?.value;
    expect(value('get_credential', '4xx')).toBe(1);
    expect(value('get_credential', '2xx')).toBe(2);
    expect(value('authenticate', '2xx')).toBe(2);
    expect((await metrics.leafRequestDuration.get()).values.length).toBeGreaterThan(0);
  });

  it('tells the budget when a request reached its socket late, and counts the shift in credwatch_leaf_late_sends_total', async () => {
    const s = await sim();
    const registry = new Registry();
    const metrics = createMetrics(registry, { providers: ['panorama'], version: 'test', defaultMetrics: false });
    const inner = new MemoryRequestBudget(1000);
    const lateness: number[] = [];
    // A budget whose slots lie 30 ms before the send, as if the process had stalled between its wake and the write.
    const budget: RequestBudget = {
      acquire: async (signal) => (await inner.acquire(signal)) - 30,
      pauseFor: (ms) => inner.pauseFor(ms),
      sentLate: (ms) => {
        lateness.push(ms);
        return inner.sentLate(ms);
      },
    };
    const c = client(s, { budget, metrics });
    await c.getCredential('panorama', s.sim.userIds()[0] ?? '');
    await new Promise((r) => setTimeout(r, 10));
    // The login and the lookup: each measured where its headers were written, at least 30 ms after its slot.
    expect(lateness).toHaveLength(2);
    for (const ms of lateness) expect(ms).toBeGreaterThanOrEqual(30);
    expect(inner.stats().lateSends).toBe(2);
    expect((await metrics.leafLateSends.get()).values[0]?.value).toBe(2);

    // On time: nothing reported, nothing moved.
    const onTime = new MemoryRequestBudget(1000);
    await client(s, { budget: onTime }).getCredential('panorama', s.sim.userIds()[0] ?? '');
    expect(onTime.stats().lateSends).toBe(0);
  });

  it('counts a request as sent when its process ran again after pausing right after the write', async () => {
    const s = await sim();
    const inner = new MemoryRequestBudget(1000);
    const lateness: number[] = [];
    const budget: RequestBudget = {
      acquire: (signal) => inner.acquire(signal),
      pauseFor: (ms) => inner.pauseFor(ms),
      sentLate: (ms) => {
        lateness.push(ms);
        return inner.sentLate(ms);
      },
    };
    const c = client(s, { budget });
    await c.authenticate();
    // The login's own report (a loaded machine may pause it too) comes 2 ms after its write: not counted here.
    await new Promise((r) => setTimeout(r, 20));
    lateness.length = 0;
    const shiftsBefore = inner.stats().lateSends;
    // Blocks this process for 40 ms right where a request's headers were written: its bytes may reach
    // Leaf only when the process (or the machine, when the pause is a VM's) runs again.
    const pause = () => {
      const until = performance.now() + 40;
      while (performance.now() < until);
    };
    const sendHeaders = channel('undici:client:sendHeaders');
    sendHeaders.subscribe(pause);
    try {
      await c.getCredential('panorama', s.sim.userIds()[0] ?? '');
    } finally {
      sendHeaders.unsubscribe(pause);
    }
    await new Promise((r) => setTimeout(r, 10));
    expect(lateness).toHaveLength(1);
    expect(lateness[0]).toBeGreaterThanOrEqual(40);
    expect(inner.stats().lateSends).toBe(shiftsBefore + 1);

    // The same request without the block: nothing near 40 ms (a loaded machine may still pause it a few ms).
    lateness.length = 0;
    await c.getCredential('panorama', s.sim.userIds()[0] ?? '');
    await new Promise((r) => setTimeout(r, 10));
    for (const ms of lateness) expect(ms).toBeLessThan(30);
  });

  it('fails with LEAF_AUTH_FAILED for a wrong password or a refused static token', async () => {
    const s = await sim();
    const wrong = await caught(client(s, { password: 'not-the-password' }).authenticate());
    expect(wrong).toMatchObject({ code: 'LEAF_AUTH_FAILED', operation: 'authenticate', status: 401 });
    const staticToken = await caught(client(s, { token: 'static-but-wrong-token' }).getCredential('panorama', 'x'));
    expect(staticToken).toMatchObject({ code: 'LEAF_AUTH_FAILED', status: 401 });
    expect(s.sim.stats().requests['authenticate']).toBe(1);
    const none = await caught(client(s, { username: undefined, password: undefined }).authenticate());
    expect(none.message).toMatch(/LEAF_TOKEN/);
  });

  it('answers a 429 with LEAF_RATE_LIMITED carrying Retry-After, pauses the budget, and does not retry', async () => {
    const s = await sim();
    const budget = new MemoryRequestBudget(1000);
    const c = client(s, { budget });
    const id = s.sim.userIds()[0] ?? '';
    await c.authenticate();
    s.sim.setFaults({ rateLimitRps: 3 });
    let error: LeafError | undefined;
    for (let i = 0; i < 10 && error === undefined; i += 1) {
      error = await c.getCredential('panorama', id).then(
        () => undefined,
        (e: unknown) => (e instanceof LeafError ? e : undefined),
      );
    }
    expect(error).toMatchObject({ code: 'LEAF_RATE_LIMITED', status: 429 });
    expect(error?.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(s.sim.stats().rateLimited).toBe(1);
    const before = Date.now();
    await budget.acquire();
    expect(Date.now() - before).toBeGreaterThanOrEqual((error?.retryAfterMs ?? 0) - 100);
  });

  it('retries 5xx with backoff and succeeds; gives up after maxRetries with LEAF_UNAVAILABLE', async () => {
    const s = await sim();
    const c = client(s, { maxRetries: 10 });
    const id = s.sim.userIds()[0] ?? '';
    await c.authenticate();
    s.sim.setFaults({ errorRate: 0.4 });
    for (let i = 0; i < 8; i += 1) expect((await c.getCredential('panorama', id)).connected).toBe(true);
    expect(s.sim.stats().injectedErrors).toBeGreaterThan(0);

    const impatient = client(s, { maxRetries: 2 });
    await impatient.authenticate();
    s.sim.setFaults({ errorRate: 1 });
    s.sim.resetStats();
    const error = await caught(impatient.getEvents('panorama', id));
    expect(error).toMatchObject({ code: 'LEAF_UNAVAILABLE', operation: 'get_events' });
    expect([500, 502, 503]).toContain(error.status);
    expect(s.sim.stats().requests).toEqual({ get_events: 3 });
  });

  it('turns malformed bodies into LEAF_BAD_RESPONSE with a redacted excerpt', async () => {
    const s = await sim();
    const c = client(s, { maxRetries: 0 });
    const id = s.sim.userIds()[0] ?? '';
    await c.authenticate();
    s.sim.setFaults({ malformedRate: 1 });
    const secrets = [s.sim.user(id)?.credential?.accessToken ?? 'x', s.sim.user(id)?.credential?.refreshToken ?? 'x'];
    for (let i = 0; i < 6; i += 1) {
      const error = await caught(i % 2 === 0 ? c.getCredential('panorama', id) : c.getEvents('panorama', id));
      expect(error).toMatchObject({ code: 'LEAF_BAD_RESPONSE', status: 200 });
      expect(typeof error.excerpt).toBe('string');
      const text = `${error.message} ${JSON.stringify(error)}`;
      for (const secret of secrets) expect(text).not.toContain(secret.slice(0, 24));
    }
  });

  it('times out slow answers as LEAF_UNAVAILABLE after retrying', async () => {
    const s = await sim();
    const c = client(s, { requestTimeoutMs: 150, maxRetries: 1 });
    await c.authenticate();
    s.sim.setFaults({ latencyMs: 600 });
    s.sim.resetStats();
    const error = await caught(c.getCredential('panorama', s.sim.userIds()[0] ?? ''));
    expect(error).toMatchObject({ code: 'LEAF_UNAVAILABLE', status: undefined });
    expect(error.message).toMatch(/timed out after 150 ms, 2 attempt/);
    expect(s.sim.stats().requests['get_credential']).toBe(2);
  });

  it('registers, lists and deletes alert webhooks; a second listener is LEAF_REQUEST_REJECTED eventRegisteredTwice', async () => {
    const s = await sim();
    const c = client(s);
    const input = {
      events: ['credentialsUnauthenticated'],
      name: 'credwatch',
      secret: 'whook-secret-9d8e7f',
      url: 'http://127.0.0.1:9/leaf/alerts',
    };
    const hook = await c.createAlertWebhook(input);
    expect(hook).toMatchObject({ name: 'credwatch', events: ['credentialsUnauthenticated'] });
    const twice = await caught(c.createAlertWebhook({ ...input, name: 'other' }));
    expect(twice).toMatchObject({
      code: 'LEAF_REQUEST_REJECTED',
      status: 400,
      errorKey: 'eventRegisteredTwice',
      operation: 'create_alert_webhook',
    });
    expect(JSON.stringify(twice)).not.toContain(input.secret);
    const listed = await c.listAlertWebhooks();
    expect(listed.map((w) => w.id)).toEqual([hook.id]);
    expect(JSON.stringify(listed)).not.toContain(input.secret);
    await c.deleteAlertWebhook(hook.id);
    expect(await c.listAlertWebhooks()).toEqual([]);
    expect((await caught(c.deleteAlertWebhook(hook.id))).code).toBe('LEAF_NOT_FOUND');
  });
});

describe('LeafClient against a scripted loopback server', () => {
  async function scripted(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; hits: () => number }> {
    let hits = 0;
    const server = createServer((req, res) => {
      hits += 1;
      answer(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    cleanups.push(() => void server.closeAllConnections());
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
  }
  const options = (url: string): LeafClientOptions => ({
    apiUrl: url,
    token: 'static-token-for-scripted-server',
    requestTimeoutMs: 2000,
    maxRetries: 3,
    budget: new MemoryRequestBudget(1000),
    tokenStore: new MemoryTokenStore(),
    retry: { baseMs: 5, maxMs: 20 },
  });

  it('fails at once when a 503 asks to wait longer than 30 s', async () => {
    const server = await scripted((_req, res) => res.writeHead(503, { 'retry-after': '120' }).end('{"message":"maintenance"}'));
    const c = new LeafClient(options(server.url));
    cleanups.push(() => c.close());
    const error = await caught(c.getCredential('panorama', 'u1'));
    expect(error).toMatchObject({ code: 'LEAF_UNAVAILABLE', status: 503, retryAfterMs: 120_000 });
    expect(server.hits()).toBe(1);
  });

  it('reads an HTTP-date Retry-After on 429, rejects a redirect, and counts network errors as status_class error', async () => {
    const at = new Date(Date.now() + 5000).toUTCString();
    const server = await scripted((req, res) => {
      if (req.url?.includes('/events')) res.writeHead(429, { 'retry-after': at }).end();
      else res.writeHead(302, { location: 'http://example.com/' }).end();
    });
    const c = new LeafClient(options(server.url));
    cleanups.push(() => c.close());
    const limited = await caught(c.getEvents('panorama', 'u1'));
    expect(limited.code).toBe('LEAF_RATE_LIMITED');
    expect(limited.retryAfterMs).toBeGreaterThan(3000);
    expect(limited.retryAfterMs).toBeLessThanOrEqual(5000);
    // A fresh client: the first one's budget is now paused for the Retry-After.
    const fresh = new LeafClient(options(server.url));
    cleanups.push(() => fresh.close());
    expect(await caught(fresh.getCredential('panorama', 'u1'))).toMatchObject({ code: 'LEAF_REQUEST_REJECTED', status: 302 });

    const registry = new Registry();
    const metrics = createMetrics(registry, { providers: ['panorama'], version: 'test', defaultMetrics: false });
    const down = new LeafClient({ ...options(`http://127.0.0.1:${await freePort()}`), maxRetries: 1, metrics });
    cleanups.push(() => down.close());
    const refused = await caught(down.getCredential('panorama', 'u1'));
    expect(refused).toMatchObject({ code: 'LEAF_UNAVAILABLE', status: undefined });
    expect((refused.cause as { code?: string }).code).toBe('ECONNREFUSED');
    const counts = await metrics.leafRequests.get();
    expect(counts.values.find((v) => v.labels.operation === 'get_credential' && v.labels.status_class === 'error')?.value).toBe(2);
  });
});

describe('sharing through Redis', () => {
  it('keeps the combined rate of several clients under the shared rps', async () => {
    const s = await sim();
    const prefix = uniquePrefix('leaf-budget');
    const admin = redisClient();
    cleanups.push(async () => {
      await deleteKeys(admin, prefix);
    });
    const rps = 20;
    const budgets: RequestBudget[] = Array.from(
      { length: 4 },
      () => new RedisRequestBudget({ redis: redisClient(), key: `${prefix}:budget`, rps }),
    );
    const clients = budgets.map((budget) => client(s, { budget, token: undefined }));
    const id = s.sim.userIds()[0] ?? '';
    s.sim.resetStats();
    const started = Date.now();
    const runFor = 2000;
    await Promise.all(
      clients.map(async (c) => {
        while (Date.now() - started < runFor) await c.getCredential('panorama', id);
      }),
    );
    const elapsedS = (Date.now() - started) / 1000;
    const served = Object.values(s.sim.stats().requests).reduce((a, b) => a + b, 0);
    // Every request, logins included, took a token: at most one per 1/rps plus the first.
    expect(served).toBeLessThanOrEqual(Math.floor(rps * elapsedS) + 1);
  });

  it('lets N clients share one login through the Redis token store', async () => {
    const s = await sim();
    const prefix = uniquePrefix('leaf-token');
    const admin = redisClient();
    cleanups.push(async () => {
      await deleteKeys(admin, prefix);
    });
    const key = `${prefix}:leaf-token`;
    const clients = Array.from({ length: 6 }, () => client(s, { tokenStore: new RedisTokenStore({ redis: redisClient(), key }) }));
    const id = s.sim.userIds()[0] ?? '';
    await Promise.all(clients.map((c) => c.getCredential('panorama', id)));
    expect(s.sim.stats().requests['authenticate']).toBe(1);
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30 * 86_400_000);
    expect(await admin.exists(`${key}:lock`)).toBe(0);
  });
});

describe('secrets', () => {
  it('never shows the token, password or credential tokens in errors or logs', async () => {
    const s = await sim({ tokenTtlSeconds: 3600 });
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ level: 'trace', format: 'json', destination: sink });
    const tokens = new SpyTokenStore(new MemoryTokenStore());
    const c = client(s, { logger, tokenStore: tokens, maxRetries: 1, requestTimeoutMs: 150 });
    const id = s.sim.userIds()[0] ?? '';
    const credential = s.sim.user(id)?.credential;
    const errors: LeafError[] = [];
    const collect = async (p: Promise<unknown>) => {
      const e = await p.then(
        () => undefined,
        (err: unknown) => err,
      );
      if (isLeafError(e)) errors.push(e);
    };
    await c.getCredential('panorama', id);
    for (const faults of [{ errorRate: 1 }, { malformedRate: 1 }, { latencyMs: 400 }, { rateLimitRps: 1 }]) {
      s.sim.setFaults(faults);
      await collect(c.getCredential('panorama', id));
      await collect(c.getEvents('panorama', id));
      await collect(c.listUserPages().next());
      s.sim.setFaults({});
      await new Promise((r) => setTimeout(r, 1100));
    }
    await collect(client(s, { password: 'wrong-Password-123', logger }).authenticate());
    await collect(client(s, { token: tokens.seen.values().next().value ?? '', logger }).getCredential('panorama', 'missing'));
    await collect(
      c.createAlertWebhook({ events: ['credentialsUnauthenticated'], name: 'a', secret: 'hook-secret-abc123', url: 'http://127.0.0.1:9' }),
    );
    await collect(
      c.createAlertWebhook({ events: ['credentialsUnauthenticated'], name: 'b', secret: 'hook-secret-abc123', url: 'http://127.0.0.1:9' }),
    );
    expect(new Set(errors.map((e) => e.code))).toEqual(
      new Set(['LEAF_UNAVAILABLE', 'LEAF_BAD_RESPONSE', 'LEAF_RATE_LIMITED', 'LEAF_AUTH_FAILED', 'LEAF_REQUEST_REJECTED']),
    );
    expect(tokens.seen.size).toBeGreaterThan(0);
    const secrets = [
      ...tokens.seen,
      PASSWORD,
      'wrong-Password-123',
      'hook-secret-abc123',
      credential?.accessToken ?? '?',
      credential?.refreshToken ?? '?',
    ];
    const outputs = [...errors.flatMap((e) => [e.message, JSON.stringify(e), String(e.cause ?? ''), e.stack ?? '']), lines.join('\n')];
    expect(lines.length).toBeGreaterThan(0);
    for (const output of outputs) for (const secret of secrets) expect(output).not.toContain(secret);
  });
});

describe('closing', () => {
  it('fails waiting requests with LEAF_UNAVAILABLE once the client is closed', async () => {
    const s = await sim();
    const c = client(s, { budget: new MemoryRequestBudget(0.5) });
    await c.authenticate(); // takes the only token of the next 2 s
    const pending = c.getCredential('panorama', s.sim.userIds()[0] ?? '');
    await new Promise((r) => setTimeout(r, 50));
    c.close();
    expect(await caught(pending)).toMatchObject({
      code: 'LEAF_UNAVAILABLE',
      operation: 'get_credential',
      message: 'Leaf get_credential: the client was closed',
    });
  });
});
