/** The status page rendered by Debian's chromium (npm run test:ops): phone and desktop layouts, no blocked content. */
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_BY_CATEGORY, CATEGORIES, type Category } from '../../src/classify/categories.js';
import { buildAdminApp } from '../../src/http/app.js';
import { createCredentialsRouter } from '../../src/http/routes/credentials.route.js';
import { createStatusRouter, type EndpointHealth } from '../../src/http/routes/status.route.js';
import { createLogger } from '../../src/logger.js';
import { CredentialStore } from '../../src/monitor/credential-store.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';

const TOKEN = 'status-page-test-token-4f9c';
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';
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

const ENDPOINTS: EndpointHealth[] = [
  { name: 'partner-app', disabled: false, lastSuccessAt: '2026-11-02T11:58:00.000Z', failuresInRow: 0, deadLetters: 0 },
  { name: 'crm-sync', disabled: false, lastSuccessAt: '2026-11-01T08:00:00.000Z', failuresInRow: 4, deadLetters: 2 },
];

/** Serves an app on 127.0.0.1 with a kernel-chosen port. */
async function serve(app: ReturnType<typeof buildAdminApp>): Promise<{ base: string; close: () => Promise<void> }> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('status page in a real browser (headless Chromium)', () => {
  let prefix: string;
  let redis: Redis;
  let cleanup: () => Promise<void>;
  let close: (() => Promise<void>) | undefined;
  let base: string;

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

  it('renders in headless Chromium on a phone and a desktop, without overflow or blocked content', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: install it with \`apt-get install chromium\` (or set CHROMIUM_PATH)`);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const viewports = [
        { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
        { name: 'desktop', viewport: { width: 1280, height: 900 }, isMobile: false, hasTouch: false, deviceScaleFactor: 1 },
      ];
      for (const v of viewports) {
        const context = await browser.newContext({
          viewport: v.viewport,
          isMobile: v.isMobile,
          hasTouch: v.hasTouch,
          deviceScaleFactor: v.deviceScaleFactor,
          httpCredentials: { username: 'ops', password: TOKEN },
        });
        const page = await context.newPage();
        const problems: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
        });
        page.on('dialog', (d) => {
          problems.push(`dialog: ${d.message()}`);
          void d.dismiss();
        });
        page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
        const response = await page.goto(base, { waitUntil: 'load' });
        expect(response?.status(), v.name).toBe(200);

        await expect.poll(() => page.locator('#total .value').innerText()).toBe('16');
        expect(await page.locator('#need-action .value').innerText()).toBe('9');
        expect(await page.getByText('exp-01', { exact: true }).isVisible()).toBe(true);
        expect(await page.getByText(EVIL_ID, { exact: true }).isVisible()).toBe(true);
        expect(await page.locator('svg.chart').isVisible()).toBe(true);
        expect(await page.locator('svg.chart title').first().textContent()).toBe('Credentials per category (16 in all)');

        // A string, not a function: the project compiles without the DOM library.
        const layout = (await page.evaluate(`(() => {
          const row = document.querySelector('table.credentials tbody tr');
          const reason = document.querySelector('table.credentials td[data-label="Reason"]');
          return {
            viewport: window.innerWidth,
            document: document.documentElement.scrollWidth,
            body: document.body.scrollWidth,
            rowDisplay: row ? getComputedStyle(row).display : null,
            reasonLabel: reason ? getComputedStyle(reason, '::before').content : null,
          };
        })()`)) as { viewport: number; document: number; body: number; rowDisplay: string | null; reasonLabel: string | null };
        expect(layout.viewport).toBe(v.viewport.width);
        expect(layout.document, `${v.name}: page wider than the viewport`).toBeLessThanOrEqual(layout.viewport);
        expect(layout.body, `${v.name}: body wider than the viewport`).toBeLessThanOrEqual(layout.viewport);
        if (v.name === 'phone') {
          // Under 600px each credential is a card, each cell labelled from its data-label.
          expect(layout.rowDisplay).toBe('block');
          expect(layout.reasonLabel).toBe('"Reason"');
        } else {
          expect(layout.rowDisplay).toBe('table-row');
        }

        await page.screenshot({ path: `${ARTIFACTS}/status-page-${v.name}.png`, fullPage: true });
        expect(problems, `${v.name}: console errors, dialogs or failed requests`).toEqual([]);
        if (v.name === 'desktop') {
          // The browser reuses the Basic password for the API links, and the API agrees with the page.
          await page.getByRole('link', { name: 'Summary API' }).click();
          await page.waitForURL(`${base}/api/summary`);
          const summary = JSON.parse(await page.locator('body').innerText()) as { total: number; needingAction: number };
          expect(summary).toMatchObject({ total: 16, needingAction: 9 });
        }
        await context.close();
      }
    } finally {
      await browser.close();
    }
    expect(existsSync(`${ARTIFACTS}/status-page-phone.png`)).toBe(true);
    expect(existsSync(`${ARTIFACTS}/status-page-desktop.png`)).toBe(true);
  });
});
