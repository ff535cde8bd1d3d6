import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { simToken, startTestSimulator } from './helpers/simulator.js';

const WEBHOOKS = '/services/alerts/api/alerts/webhooks';
const SECRET = 'leaf-alert-secret-3d9f';

interface Received {
  raw: Buffer;
  signature: string | undefined;
  json: Record<string, unknown>;
}

/** A real HTTP receiver on loopback that answers with the given statuses in turn (then 200). */
async function receiver(
  statuses: number[] = [],
): Promise<{ url: string; received: Received[]; attempts: () => number; close: () => Promise<void> }> {
  const received: Received[] = [];
  let attempts = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      attempts += 1;
      const status = statuses.shift() ?? 200;
      if (status === 200) {
        const raw = Buffer.concat(chunks);
        const signature = req.headers['x-leaf-signature'];
        received.push({
          raw,
          signature: typeof signature === 'string' ? signature : undefined,
          json: JSON.parse(raw.toString('utf8')) as Record<string, unknown>,
        });
      }
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/leaf/alerts`,
    received,
    attempts: () => attempts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The documented check: base64(HMAC-SHA256(secret, raw body)), compared in constant time. */
function verifies(secret: string, raw: Buffer, signature: string | undefined): boolean {
  if (signature === undefined) return false;
  const expected = createHmac('sha256', secret).update(raw).digest();
  const given = Buffer.from(signature, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(statuses: number[] = []): Promise<{ s: StartedSimulator; token: string; hook: Awaited<ReturnType<typeof receiver>> }> {
  const s = await startTestSimulator({ users: 30 });
  cleanups.push(() => s.close());
  const hook = await receiver(statuses);
  cleanups.push(() => hook.close());
  return { s, token: await simToken(s.url), hook };
}

async function register(s: StartedSimulator, token: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${s.url}${WEBHOOKS}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function control(s: StartedSimulator, method: string, path: string, body: unknown): Promise<number> {
  const r = await fetch(`${s.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await r.arrayBuffer();
  return r.status;
}

describe('Leaf alert webhooks', { timeout: 60_000 }, () => {
  it('confirms a registration, then POSTs a signed credentialsUnauthenticated alert on a status change', async () => {
    const { s, token, hook } = await setup();
    const created = await register(s, token, { events: ['credentialsUnauthenticated'], name: 'credwatch', secret: SECRET, url: hook.url });
    expect(created.status).toBe(201);
    const webhook = (await created.json()) as Record<string, unknown>;
    expect(webhook).toMatchObject({ name: 'credwatch', url: hook.url, events: ['credentialsUnauthenticated'] });
    expect(JSON.stringify(webhook)).not.toContain(SECRET);
    await until(() => hook.received.length === 1, 'the confirmation');
    const confirmation = hook.received[0];
    expect(confirmation?.json).toEqual({ message: 'confirmation of webhook upon registration' });
    expect(verifies(SECRET, confirmation?.raw ?? Buffer.alloc(0), confirmation?.signature)).toBe(true);

    const id = s.sim.userIds().find((u) => s.sim.expectedCategory(u) === 'healthy') ?? '';
    const credentialId = s.sim.user(id)?.credential?.id;
    expect(await control(s, 'PUT', `/_sim/users/${id}/credential`, { status: 'UNAUTHENTICATED' })).toBe(200);
    await until(() => s.sim.stats().alerts.sent === 1, 'the alert');
    const alert = hook.received[1];
    if (!alert) throw new Error('no alert');
    expect(verifies(SECRET, alert.raw, alert.signature)).toBe(true);
    expect(verifies('another-secret', alert.raw, alert.signature)).toBe(false);
    expect(alert.json).toMatchObject({ type: 'credentialsUnauthenticated', provider: 'Panorama', credentialId, status: 'UNAUTHENTICATED' });
    expect(Object.keys(alert.json).sort()).toEqual(['credential', 'credentialId', 'message', 'provider', 'status', 'timestamp', 'type']);
    expect(Number.isNaN(Date.parse(String(alert.json['timestamp'])))).toBe(false);
    // Leaf signs compact JSON with a space after ':' and ','.
    expect(alert.raw.toString('utf8')).toMatch(/^\{"type": "credentialsUnauthenticated", "provider": "Panorama", /);
    expect(alert.raw.toString('utf8')).not.toContain(s.sim.user(id)?.credential?.refreshToken ?? 'missing');

    // The same status again sends nothing new.
    expect(await control(s, 'PUT', `/_sim/users/${id}/credential`, { status: 'UNAUTHENTICATED' })).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(hook.received).toHaveLength(2);
    expect(s.sim.stats().alerts).toMatchObject({ sent: 1, confirmations: 1, failed: 0 });
  });

  it('sends credentialsLimitedPermission when appended events end in a permission failure', async () => {
    const { s, token, hook } = await setup();
    expect(
      (await register(s, token, { events: ['credentialsLimitedPermission'], name: 'perm', secret: SECRET, url: hook.url })).status,
    ).toBe(201);
    await until(() => hook.received.length === 1, 'the confirmation');
    const id = s.sim.userIds().find((u) => s.sim.expectedCategory(u) === 'healthy') ?? '';
    const status = await control(s, 'POST', `/_sim/users/${id}/events`, [
      { statusCode: 403, body: '{"__type": "AccessDeniedException", "message": "User is not authorized to perform this action"}' },
    ]);
    expect(status).toBe(201);
    await until(() => hook.received.length === 2, 'the alert');
    expect(hook.received[1]?.json).toMatchObject({ type: 'credentialsLimitedPermission', status: 'MISSING_PERMISSION' });
    expect(verifies(SECRET, hook.received[1]?.raw ?? Buffer.alloc(0), hook.received[1]?.signature)).toBe(true);
    expect(s.sim.expectedCategory(id)).toBe('missing_permission');
  });

  it('allows one webhook per event (eventRegisteredTwice), lists without secrets and deletes', async () => {
    const { s, token, hook } = await setup();
    const first = (await (
      await register(s, token, {
        events: ['credentialsUnauthenticated', 'credentialsLimitedPermission'],
        name: 'a',
        secret: SECRET,
        url: hook.url,
      })
    ).json()) as { id: string };
    const second = await register(s, token, { events: ['credentialsLimitedPermission'], name: 'b', secret: SECRET, url: hook.url });
    expect(second.status).toBe(400);
    expect(await second.json()).toMatchObject({ status: 400, errorKey: 'eventRegisteredTwice' });
    const invalid = await register(s, token, { events: [], name: 'c', secret: SECRET, url: hook.url });
    expect(invalid.status).toBe(400);
    const listed = await fetch(`${s.url}${WEBHOOKS}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await listed.text();
    expect(text).not.toContain(SECRET);
    expect((JSON.parse(text) as Array<{ id: string }>).map((w) => w.id)).toEqual([first.id]);
    const del = await fetch(`${s.url}${WEBHOOKS}/${first.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    expect(del.status).toBe(204);
    expect(
      (await fetch(`${s.url}${WEBHOOKS}/${first.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(404);
    expect((await register(s, token, { events: ['credentialsLimitedPermission'], name: 'b', secret: SECRET, url: hook.url })).status).toBe(
      201,
    );
  });

  it('retries failed deliveries a few times and counts retries and failures', async () => {
    const { s, token, hook } = await setup([200, 500, 503]);
    expect(
      (await register(s, token, { events: ['credentialsUnauthenticated'], name: 'flaky', secret: SECRET, url: hook.url })).status,
    ).toBe(201);
    await until(() => hook.received.length === 1, 'the confirmation');
    const [a, b] = s.sim.userIds().filter((u) => s.sim.expectedCategory(u) === 'healthy');
    expect(await control(s, 'PUT', `/_sim/users/${a}/credential`, { status: 'UNAUTHENTICATED' })).toBe(200);
    await until(() => s.sim.stats().alerts.sent === 1, 'the retried alert');
    expect(hook.received).toHaveLength(2);
    expect(hook.attempts()).toBe(4);
    expect(s.sim.stats().alerts).toMatchObject({ sent: 1, retried: 2, failed: 0 });

    await hook.close();
    expect(await control(s, 'PUT', `/_sim/users/${b}/credential`, { status: 'UNAUTHENTICATED' })).toBe(200);
    await until(() => s.sim.stats().alerts.failed === 1, 'the delivery to be given up');
    expect(s.sim.stats().alerts).toMatchObject({ sent: 1, retried: 5, failed: 1 });
    const deliveries = (
      (await (await fetch(`${s.url}/_sim/alerts`)).json()) as { deliveries: Array<{ outcome: string; attempts: number }> }
    ).deliveries;
    expect(deliveries.map((d) => [d.outcome, d.attempts])).toEqual([
      ['delivered', 1],
      ['delivered', 3],
      ['failed', 4],
    ]);
  });
});
