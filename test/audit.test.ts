import { describe, expect, it } from 'vitest';
import { assessCredential } from '../src/classify/assess-credential.js';
import type { CredentialEvent } from '../src/classify/types.js';
import { auditCredentials, type AuditLeaf, type AuditRow } from '../src/leaf/audit.js';
import { parseAuditArgs, renderCounts, renderTable } from '../src/leaf/audit.command.js';
import { LeafError } from '../src/leaf/errors.js';
import type { CredentialLookup, LeafUserPage } from '../src/leaf/leaf-client.js';

const ok = (id: string): CredentialEvent => ({
  id,
  createdDate: '2026-11-01T00:00:00Z',
  createdAtMs: Date.UTC(2026, 10, 1),
  statusCode: 200,
  headers: '',
  body: '{}',
});

/** An in-memory Leaf with scripted failures per user (the HTTP path is covered against the simulator). */
function fakeLeaf(
  userCount: number,
  script: Record<string, Array<LeafError | 'ok'>> = {},
): AuditLeaf & { inFlight: number; maxInFlight: number; pagesServed: number } {
  const ids = Array.from({ length: userCount }, (_, i) => `u${i}`);
  const leaf = {
    inFlight: 0,
    maxInFlight: 0,
    pagesServed: 0,
    async *listUserPages(options: { size?: number; startPage?: number } = {}): AsyncGenerator<LeafUserPage> {
      const size = options.size ?? 100;
      for (let page = options.startPage ?? 0; page * size < ids.length; page += 1) {
        leaf.pagesServed += 1;
        const users = ids
          .slice(page * size, (page + 1) * size)
          .map((id) => ({ id, name: undefined, email: undefined, externalId: undefined }));
        yield { users, page, total: ids.length, skipped: 0 };
      }
    },
    async getCredential(_provider: string, userId: string): Promise<CredentialLookup> {
      leaf.inFlight += 1;
      leaf.maxInFlight = Math.max(leaf.maxInFlight, leaf.inFlight);
      await new Promise((r) => setTimeout(r, 1));
      leaf.inFlight -= 1;
      const next = script[userId]?.shift();
      if (next instanceof LeafError) throw next;
      if (userId.endsWith('7')) return { connected: false };
      return {
        connected: true,
        credential: {
          id: `c-${userId}`,
          status: 'OK',
          clientEnvironment: 'PRODUCTION',
          clientId: undefined,
          organizationCode: undefined,
          createdTime: undefined,
        },
      };
    },
    async getEvents(_provider: string, userId: string): Promise<CredentialEvent[]> {
      return [ok(`e-${userId}`)];
    },
  };
  return leaf;
}

const rateLimited = () =>
  new LeafError('LEAF_RATE_LIMITED', 'Leaf get_credential answered 429', { operation: 'get_credential', status: 429, retryAfterMs: 5 });

describe('auditCredentials', () => {
  it('checks every user once, page by page, with at most `concurrency` calls in flight', async () => {
    const leaf = fakeLeaf(250);
    const rows: AuditRow[] = [];
    const progress: number[] = [];
    const summary = await auditCredentials({
      leaf,
      provider: 'panorama',
      concurrency: 4,
      assess: assessCredential,
      onRow: (r) => rows.push(r),
      onProgress: (d) => progress.push(d),
    });
    expect(rows.map((r) => r.leafUserId).sort()).toEqual(Array.from({ length: 250 }, (_, i) => `u${i}`).sort());
    expect(summary).toMatchObject({ checked: 250, total: 250, failures: [] });
    expect(summary.counts.not_connected).toBe(25);
    expect(summary.counts.healthy).toBe(225);
    expect(leaf.maxInFlight).toBeLessThanOrEqual(4);
    expect(leaf.maxInFlight).toBeGreaterThan(1);
    expect(progress.at(-1)).toBe(250);
    expect(leaf.pagesServed).toBe(3);
  });

  it('waits out 429s, records users Leaf keeps failing for, and stops on an auth failure', async () => {
    const unavailable = new LeafError('LEAF_UNAVAILABLE', 'Leaf get_credential answered HTTP 503, 3 attempt(s)', {
      operation: 'get_credential',
      status: 503,
    });
    const leaf = fakeLeaf(10, { u1: [rateLimited(), rateLimited(), 'ok'], u2: [unavailable] });
    const summary = await auditCredentials({
      leaf,
      provider: 'panorama',
      concurrency: 3,
      assess: assessCredential,
      onRow: () => undefined,
    });
    expect(summary.checked).toBe(10);
    expect(summary.failures).toEqual([{ leafUserId: 'u2', code: 'LEAF_UNAVAILABLE', message: unavailable.message }]);
    expect(Object.values(summary.counts).reduce((a, b) => a + b, 0)).toBe(9);

    const refused = new LeafError('LEAF_AUTH_FAILED', 'Leaf refused the token', { operation: 'get_credential', status: 401 });
    const stopped = fakeLeaf(300, { u5: [refused] });
    let rows = 0;
    await expect(
      auditCredentials({ leaf: stopped, provider: 'panorama', concurrency: 2, assess: assessCredential, onRow: () => rows++ }),
    ).rejects.toBe(refused);
    expect(rows).toBeLessThan(300);
  });
});

describe('audit command helpers', () => {
  it('parses options and names the bad one', () => {
    expect(parseAuditArgs([])).toEqual({
      leafUrl: undefined,
      concurrency: 8,
      rps: undefined,
      json: false,
      onlyFailing: false,
      provider: 'panorama',
    });
    expect(
      parseAuditArgs(['--leaf-url', 'http://x:1/', '--concurrency', '3', '--rps', '2.5', '--json', '--only-failing', '--provider', 'cnhi']),
    ).toEqual({
      leafUrl: 'http://x:1',
      concurrency: 3,
      rps: 2.5,
      json: true,
      onlyFailing: true,
      provider: 'cnhi',
    });
    expect(() => parseAuditArgs(['--concurrency', '0'])).toThrow(/--concurrency: expected a whole number from 1 to 256, got "0"/);
    expect(() => parseAuditArgs(['--rps', 'fast'])).toThrow(/--rps/);
    expect(() => parseAuditArgs(['extra'])).toThrow(/see --help/);
  });

  it('renders failing rows by category order and every category count', () => {
    const rows: AuditRow[] = [
      {
        leafUserId: 'b',
        category: 'not_connected',
        action: 'connect',
        since: null,
        reason: 'no credential',
        externalId: null,
        name: null,
        email: null,
      },
      {
        leafUserId: 'a',
        category: 'cognito_token_expired',
        action: 'reauthenticate',
        since: '2026-11-01T00:00:00.000Z',
        reason: 'Refresh Token has expired',
        externalId: 'crm-7',
        name: 'Ada Farms',
        email: 'ada@example.com',
      },
    ];
    const table = renderTable(rows).split('\n');
    expect(table[0]).toMatch(/^USER ID\s+EXTERNAL ID\s+NAME\s+CATEGORY\s+SINCE/);
    expect(table[1]).toMatch(
      /^a\s+crm-7\s+Ada Farms\s+cognito_token_expired\s+2026-11-01T00:00:00\.000Z\s+reauthenticate\s+Refresh Token has expired$/,
    );
    expect(table[2]).toMatch(/^b\s+-\s+-\s+not_connected\s+-\s+connect\s+no credential$/);
    expect(renderTable([])).toBe('Every credential is healthy.\n');
    expect(renderCounts({ healthy: 3 }).split('\n').filter(Boolean)).toHaveLength(8);
  });
});
