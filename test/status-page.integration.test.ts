import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_BY_CATEGORY, CATEGORIES, type Category } from '../src/classify/categories.js';
import { buildAdminApp } from '../src/http/app.js';
import { createCredentialsRouter } from '../src/http/routes/credentials.route.js';
import { createStatusRouter, type EndpointHealth } from '../src/http/routes/status.route.js';
import { createLogger } from '../src/logger.js';
import { CredentialStore } from '../src/monitor/credential-store.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';
import { freePort } from './helpers/redis-server.js';

const TOKEN = 'status-page-test-token-4f9c';
const EVIL_ID = '<script>alert(1)</script>';
const NOW = new Date('2026-11-02T12:00:00.000Z');

// Credentials per category; user ids sort within a category as the store lists them.
const FIXTURE: Record<Category, string[]> = {
  healthy: ['h-01', 'h-02', 'h-03', 'h-04', 'h-05'],
  // The hostile id sorts first in the first failing category, so it is on the first page.
  cognito_token_expired: [EVIL_ID, 'exp-01', 'exp-02'],
  wrong_organization_code: ['3f2b8c1e-9a4d-4e6b-8c2a-1d5e7f9a0b3c', '8d1e4f7a-2b5c-4a9e-b3d6-0c8f1e2a5b7d'],
  environment_mismatch: ['env-01'],
  missing_permission: ['perm-01'],
  provider_unavailable: ['down-01', 'down-02'],
  not_connected: ['nc-01'],
  unclassified: ['unc-01'],
};
const FAILING_IN_ORDER = CATEGORIES.filter((c) => c !== 'healthy').flatMap((c) => [...(FIXTURE[c] ?? [])].sort());

const ENDPOINTS: EndpointHealth[] = [
  { name: 'partner-app', disabled: false, lastSuccessAt: '2026-11-02T11:58:00.000Z', failuresInRow: 0, deadLetters: 0 },
  { name: 'crm-sync', disabled: false, lastSuccessAt: '2026-11-01T08:00:00.000Z', failuresInRow: 4, deadLetters: 2 },
];

function basic(password: string, user = 'ops'): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

function userIds(page: string): string[] {
  return [...page.matchAll(/<td data-label="Leaf user id" class="id"><a href="[^"]*">([^<]*)<\/a>/g)].map((m) =>
    (m[1] ?? '')
      .replaceAll('&lt;', '<')
      .replaceAll('&gt;', '>')
      .replaceAll('&quot;', '"')
      .replaceAll('&#39;', "'")
      .replaceAll('&amp;', '&'),
  );
}

/** Serves an app on 127.0.0.1 with a kernel-chosen port. */
async function serve(app: ReturnType<typeof buildAdminApp>): Promise<{ base: string; close: () => Promise<void> }> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function nextHref(page: string): string | null {
  const href = /<a rel="next" href="([^"]+)"/.exec(page)?.[1];
  return href === undefined ? null : href.replaceAll('&amp;', '&');
}

describe('status page (real Redis, real HTTP)', () => {
  let prefix: string;
  let redis: Redis;
  let cleanup: () => Promise<void>;
  let close: (() => Promise<void>) | undefined;
  let base: string;

  async function get(path: string, headers: Record<string, string> = basic(TOKEN)): Promise<Response> {
    return fetch(`${base}${path}`, { headers });
  }

  beforeAll(async () => {
    prefix = uniquePrefix('status-page');
    ({ redis, cleanup } = await testRedis(prefix));
    const store = new CredentialStore(redis, prefix, { historyLimit: 10, providers: ['panorama'] });
    let observed = 1_000;
    for (const category of CATEGORIES) {
      for (const leafUserId of FIXTURE[category]) {
        observed += 1;
        await store.applyPoll(
          {
            provider: 'panorama',
            leafUserId,
            // The first credential written is the least recently polled: 60 s before NOW.
            observedAtMs: NOW.getTime() - 61_001 + observed,
            credentialId: `cred-${leafUserId}`,
            clientEnvironment: 'PRODUCTION',
            category,
            action: ACTION_BY_CATEGORY[category],
            since: '2026-11-02T08:00:00.000Z',
            ruleId: `test.${category}`,
            reason: leafUserId === EVIL_ID ? `hostile ${EVIL_ID}` : `reason for ${category}`,
            evidence: {
              eventId: `ev-${leafUserId}`,
              statusCode: category === 'healthy' ? 200 : 400,
              excerpt: `{"message":"${category} evidence"}`,
            },
            cursorMs: null,
            lastEventId: `ev-${leafUserId}`,
          },
          NOW,
        );
      }
    }
    await store.sweeps.started(new Date('2026-11-02T11:45:00.000Z'));
    await store.sweeps.finished(new Date('2026-11-02T11:45:30.000Z'), 30_000, 16, new Date('2026-11-02T11:45:00.000Z'));
    const app = buildAdminApp({
      adminToken: TOKEN,
      logger: createLogger({ level: 'silent', format: 'json' }),
      publicRouters: [],
      adminRouters: [createCredentialsRouter({ store, providers: ['panorama'], requestPoll: async () => undefined })],
      browserRouters: [
        createStatusRouter({
          store,
          providers: ['panorama'],
          endpoints: async () => ENDPOINTS,
          now: () => NOW,
          version: '9.9.9-test',
          pageSize: 5,
        }),
      ],
    });
    ({ base, close } = await serve(app));
  });

  afterAll(async () => {
    await close?.();
    await cleanup?.();
  });

  it('challenges a browser without credentials or with a wrong token', async () => {
    for (const headers of [{}, basic('wrong-token')]) {
      const res = await get('/', headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="credwatch"/);
      expect(await res.text()).not.toContain(TOKEN);
    }
  });

  it('serves the page with Basic auth (any user name), uncached, under a script-free CSP', async () => {
    expect((await get('/', { Authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    const res = await get('/', basic(TOKEN, 'anyone'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    const page = await res.text();
    expect(page).not.toContain('<script');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('version 9.9.9-test');
  });

  it('shows the counts in Redis, the last sweep and the webhook endpoints', async () => {
    const page = await (await get('/')).text();
    const shown = Object.fromEntries([...page.matchAll(/category=([a-z_]+)">.*?data-count="(\d+)"/g)].map((m) => [m[1], Number(m[2])]));
    expect(shown).toEqual(Object.fromEntries(CATEGORIES.map((c) => [c, FIXTURE[c].length])));
    expect(page).toMatch(/id="total"><span class="value">16</);
    expect(page).toMatch(/id="healthy-share"><span class="value">31\.3 %</);
    expect(page).toMatch(/id="need-action"><span class="value">9</);
    expect(page).toContain('2026-11-02 11:45:30 UTC');
    expect(page).toContain('30 s');
    expect(page).toMatch(/Oldest poll age<\/dt><dd>1 min</);
    expect(page).toMatch(/crm-sync<\/td><td data-label="State"><span class="state-bad">failing/);
    expect(page).toMatch(/partner-app<\/td><td data-label="State"><span class="state-ok">ok</);
  });

  it('pages through every failing credential with the next links, never listing healthy ones', async () => {
    const seen: string[] = [];
    let href: string | null = '/';
    let pages = 0;
    while (href !== null) {
      const res = await get(href.startsWith('?') ? `/${href}` : href);
      expect(res.status).toBe(200);
      const page = await res.text();
      const ids = userIds(page);
      expect(ids.length).toBeLessThanOrEqual(5);
      seen.push(...ids);
      href = nextHref(page);
      pages += 1;
      expect(pages).toBeLessThan(10);
    }
    expect(seen).toEqual(FAILING_IN_ORDER);
    expect(pages).toBe(3);
  });

  it('filters by category, including healthy, and pages within the category', async () => {
    expect(userIds(await (await get('/?category=cognito_token_expired')).text())).toEqual([EVIL_ID, 'exp-01', 'exp-02']);
    const healthy = await (await get('/?provider=panorama&category=healthy')).text();
    expect(userIds(healthy)).toEqual(FIXTURE.healthy);
    expect(nextHref(healthy)).toBeNull();
    const empty = await (await get('/?category=cognito_token_expired&cursor=cognito_token_expired%7Cexp-02')).text();
    expect(userIds(empty)).toEqual([]);
    expect(empty).toContain('No more credentials on this page.');
  });

  it('answers a bad query value with a 400 page naming the parameter', async () => {
    for (const [query, parameter] of [
      ['?category=expired', 'category'],
      ['?provider=john_deere', 'provider'],
      ['?cursor=healthy%7Ch-01', 'cursor'],
      ['?page=2', 'page'],
    ] as const) {
      const res = await get(`/${query}`);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(await res.text()).toContain(`Bad query parameter &quot;${parameter}&quot;`);
    }
  });
  // The headless-Chromium rendering check needs Debian's chromium: test/ops/status-page-browser.e2e.test.ts.
});

describe('status page when its sources fail', () => {
  it('is off (404) when no admin token is configured', async () => {
    const prefix = uniquePrefix('status-off');
    const { redis, cleanup } = await testRedis(prefix);
    const store = new CredentialStore(redis, prefix, { historyLimit: 10, providers: ['panorama'] });
    const app = buildAdminApp({
      adminToken: undefined,
      logger: createLogger({ level: 'silent', format: 'json' }),
      publicRouters: [],
      adminRouters: [],
      browserRouters: [createStatusRouter({ store, providers: ['panorama'], endpoints: async () => [], version: 'x' })],
    });
    const served = await serve(app);
    try {
      const res = await fetch(`${served.base}/`, { headers: basic(TOKEN) });
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('CREDWATCH_ADMIN_TOKEN');
    } finally {
      await served.close();
      await cleanup();
    }
  });

  it('answers 503 with an HTML page when Redis is unreachable, and logs why', async () => {
    // A real client to a port nothing listens on: commands fail at once instead of queueing.
    const dead = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => undefined);
    const lines: string[] = [];
    const logger = createLogger({
      level: 'warn',
      format: 'json',
      destination: new Writable({ write: (chunk: Buffer, _enc, done) => void (lines.push(chunk.toString()), done()) }),
    });
    const store = new CredentialStore(dead, uniquePrefix('status-dead'), { historyLimit: 10, providers: ['panorama'] });
    const app = buildAdminApp({
      adminToken: TOKEN,
      logger,
      publicRouters: [],
      adminRouters: [],
      browserRouters: [createStatusRouter({ store, providers: ['panorama'], endpoints: async () => [], version: 'x', logger })],
    });
    const served = await serve(app);
    try {
      const res = await fetch(`${served.base}/`, { headers: basic(TOKEN) });
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const page = await res.text();
      expect(page).toContain('could not read its state from Redis');
      expect(page).not.toMatch(/at \S+ \(|enableOfflineQueue|Stream/);
      expect(lines.join('')).toContain('status page could not read the credential state');
    } finally {
      await served.close();
      dead.disconnect();
    }
  });

  it('still renders the page when the webhook state cannot be read', async () => {
    const prefix = uniquePrefix('status-webhooks-down');
    const { redis, cleanup } = await testRedis(prefix);
    const store = new CredentialStore(redis, prefix, { historyLimit: 10, providers: ['panorama'] });
    const app = buildAdminApp({
      adminToken: TOKEN,
      logger: createLogger({ level: 'silent', format: 'json' }),
      publicRouters: [],
      adminRouters: [],
      browserRouters: [
        createStatusRouter({
          store,
          providers: ['panorama'],
          endpoints: async () => {
            throw new Error('webhook store unreachable');
          },
          version: 'x',
        }),
      ],
    });
    const served = await serve(app);
    try {
      const res = await fetch(`${served.base}/`, { headers: basic(TOKEN) });
      expect(res.status).toBe(200);
      const page = await res.text();
      expect(page).toContain('Webhook state could not be read; see the credwatch log.');
      expect(page).not.toContain('webhook store unreachable');
      expect(page).toContain('No failing credentials');
    } finally {
      await served.close();
      await cleanup();
    }
  });
});
