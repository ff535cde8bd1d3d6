import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { api, daemonEnv, spawnDaemon, startTestDaemon, waitFor, waitForSweepDone } from './helpers/daemon.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';
import { startTestSimulator } from './helpers/simulator.js';
import { TEST_SECRET } from './helpers/webhook-fixtures.js';
import { WebhookReceiver, type ReceivedRequest } from './helpers/webhook-receiver.js';

const USERS = 8;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function sink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

async function cli(args: string[], env: Record<string, string>) {
  const stdout = sink();
  const stderr = sink();
  const code = await runCli(args, { stdin: Readable.from([]), stdout, stderr, env, signal: new AbortController().signal });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

async function postEvent(sim: StartedSimulator, userId: string, event: { statusCode: number; body: string }): Promise<void> {
  const res = await fetch(`${sim.url}/_sim/users/${userId}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ ...event, createdDate: new Date().toISOString() }]),
  });
  if (!res.ok) throw new Error(`sim control answered ${res.status}`);
}

function forUser(leafUserId: string, type: string) {
  return (r: ReceivedRequest) => {
    const body = JSON.parse(r.body) as { type: string; data: { leafUserId: string; category?: string } };
    return body.type === type && body.data.leafUserId === leafUserId;
  };
}

interface InboxBody {
  total: number;
  signatures: Array<{ id: string; statusCode: number; code: string; template: string; count: number; credentials: number; ruleId: string }>;
}

describe('from an unknown wording to a rule, without a restart (simulator, real Redis, real webhooks)', () => {
  it('lands in the inbox, becomes a rule via rules suggest, is reloaded and re-assesses the credentials', async () => {
    const prefix = uniquePrefix('rules-loop');
    const { cleanup } = await testRedis(prefix);
    cleanups.unshift(cleanup);
    const sim = await startTestSimulator({ users: USERS, seed: 11 });
    cleanups.unshift(() => sim.close());
    const receiver = await WebhookReceiver.start();
    cleanups.unshift(() => receiver.stop());
    const dir = await mkdtemp(join(tmpdir(), 'credwatch-rules-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const rulesFile = join(dir, 'rules.yaml');
    await writeFile(rulesFile, '[]\n');
    const env = {
      CREDWATCH_RULES_FILE: rulesFile,
      CREDWATCH_RULES_WATCH_INTERVAL: '100ms',
      CREDWATCH_WEBHOOK_URL: receiver.url(),
      CREDWATCH_WEBHOOK_SECRET: TEST_SECRET,
    };
    const daemon = await startTestDaemon(sim, prefix, { env });
    cleanups.unshift(() => daemon.close());
    await waitForSweepDone(daemon, USERS);

    const healthy: string[] = [];
    for (const id of sim.sim.userIds()) if ((await daemon.store.get('panorama', id))?.category === 'healthy') healthy.push(id);
    const [a, b] = healthy;
    if (a === undefined || b === undefined) throw new Error('expected two healthy simulated users');

    // A wording no rule knows, with a different farm number and date per grower: one signature.
    for (const [id, farm] of [
      [a, 8812],
      [b, 1207],
    ] as const) {
      await postEvent(sim, id, {
        statusCode: 403,
        body: JSON.stringify({
          errorKey: 'growerConsentPending',
          title: 'Consent pending',
          detail: `Consent for farm ${farm} is pending since 2026-11-${farm % 28}`,
        }),
      });
      await daemon.requestPoll('panorama', id);
    }
    for (const id of [a, b])
      await waitFor(`${id} unclassified`, async () => (await daemon.store.get('panorama', id))?.category === 'unclassified');

    const inbox = await api<InboxBody>(daemon, '/api/unclassified');
    expect(inbox.status).toBe(200);
    expect(inbox.body.total).toBe(1);
    const [signature] = inbox.body.signatures;
    expect(signature).toMatchObject({
      statusCode: 403,
      code: 'growerConsentPending',
      count: 2,
      credentials: 2,
      ruleId: 'fallback.unclassified',
    });
    expect(signature?.template).not.toMatch(/8812|1207/);
    const page = await fetch(`${daemon.httpUrl}/`, { headers: { authorization: 'Bearer test-admin-token-0123456789' } }).then((r) =>
      r.text(),
    );
    expect(page).toContain('Unrecognised failures');
    expect(page).toContain(signature?.id ?? '?');
    const scrape = await fetch(daemon.metricsUrl ?? '').then((r) => r.text());
    expect(scrape).toMatch(/^credwatch_unclassified_signatures 1$/m);
    // No re-auth webhook for unclassified (the default).
    expect(receiver.requests.filter(forUser(a, 'credential.action_required'))).toEqual([]);

    // The operator lists the inbox, then writes a rule for that signature.
    const cliEnv = daemonEnv(sim, prefix, env);
    const listed = await cli(['rules', 'suggest'], cliEnv);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(signature?.id ?? '?');
    const suggested = await cli(
      ['rules', 'suggest', signature?.id ?? '', '--category', 'missing_permission', '--write', rulesFile],
      cliEnv,
    );
    expect(suggested.stderr).not.toMatch(/warning/);
    expect(suggested.code).toBe(0);
    expect(suggested.stdout).toContain('category: missing_permission');
    expect(await readFile(rulesFile, 'utf8')).toContain(`local.missing-permission.${signature?.id ?? ''}`);

    // The daemon sees the file change, reloads and re-polls both credentials: category, rule and webhook follow.
    for (const id of [a, b]) {
      const state = await waitFor(`${id} re-assessed`, async () => {
        const s = await daemon.store.get('panorama', id);
        return s?.category === 'missing_permission' ? s : undefined;
      });
      expect(state.ruleId).toBe(`local.missing-permission.${signature?.id ?? ''}`);
    }
    const [hook] = await receiver.waitFor(1, 15_000, forUser(a, 'credential.action_required'));
    // Handled: the signature left the inbox, and the re-assessed credentials did not bring it back.
    expect((await api<InboxBody>(daemon, '/api/unclassified')).body.total).toBe(0);
    expect(JSON.parse(hook?.body ?? '{}')).toMatchObject({ data: { category: 'missing_permission' } });
    expect((await daemon.metrics.polls.get()).values.length).toBeGreaterThan(0);

    // A bad file is refused with one line; the rules in force stay.
    await writeFile(rulesFile, '- id: broken\n  category: nope\n');
    const refused = await daemon.reloadRules('test');
    expect(refused).toMatchObject({ outcome: 'refused' });
    expect(refused.outcome === 'refused' ? refused.error : '').toMatch(
      /^rules file .*rules\.yaml: rule 0 \(id "broken"\): category: expected one of/,
    );
    await postEvent(sim, a, {
      statusCode: 403,
      body: JSON.stringify({
        errorKey: 'growerConsentPending',
        title: 'Consent pending',
        detail: 'Consent for farm 77 is pending since 2026-12-01',
      }),
    });
    await daemon.requestPoll('panorama', a);
    await waitFor('the next poll', async () => {
      const c = await daemon.pollQueue.getJobCounts('waiting', 'prioritized', 'active');
      return (c['waiting'] ?? 0) + (c['prioritized'] ?? 0) + (c['active'] ?? 0) === 0;
    });
    expect((await daemon.store.get('panorama', a))?.category).toBe('missing_permission');
    const after = await fetch(daemon.metricsUrl ?? '').then((r) => r.text());
    expect(after).toMatch(/^credwatch_rules_reloads_total\{outcome="refused"\} [1-9]/m);
    expect(after).toMatch(/^credwatch_rules_reloads_total\{outcome="reloaded"\} 1$/m);
  }, 60_000);

  it('a running `credwatch start` reloads its rules on SIGHUP, refusing a bad file with one line', async () => {
    const prefix = uniquePrefix('rules-hup');
    const { cleanup } = await testRedis(prefix);
    cleanups.unshift(cleanup);
    const sim = await startTestSimulator({ users: 2 });
    cleanups.unshift(() => sim.close());
    const dir = await mkdtemp(join(tmpdir(), 'credwatch-hup-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const rulesFile = join(dir, 'rules.json');
    await writeFile(rulesFile, '[]');
    // A watch interval of an hour: only the signal can trigger the reloads below.
    const { child, output } = await spawnDaemon(
      daemonEnv(sim, prefix, { CREDWATCH_RULES_FILE: rulesFile, CREDWATCH_RULES_WATCH_INTERVAL: '1h' }),
    );
    cleanups.unshift(async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    });
    await writeFile(rulesFile, '[{"id": "x", "category": "healthy", "reason": "r", "match": {}}]');
    child.kill('SIGHUP');
    await waitFor('the refusal in the log', async () => output().includes('rules reload refused'), 10_000);
    expect(output()).toMatch(
      /rules reload refused, keeping the rules in force: rules file .*rules\.json: rule 0 \(id \\"x\\"\): match: expected at least one condition/,
    );
    await writeFile(rulesFile, '[{"id": "local.teapot", "category": "provider_unavailable", "reason": "r", "match": {"status": [418]}}]');
    child.kill('SIGHUP');
    await waitFor('the reload in the log', async () => output().includes('"msg":"rules file reloaded"'), 10_000);
    expect(child.exitCode).toBeNull();
  }, 40_000);
});
