import { Readable, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { CATEGORIES } from '../src/classify/categories.js';
import { runCli } from '../src/cli.js';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { freePort } from './helpers/redis-server.js';
import { TEST_SIM_ACCOUNT, simToken, startTestSimulator } from './helpers/simulator.js';

const sims: StartedSimulator[] = [];
afterEach(async () => {
  for (const s of sims.splice(0)) await s.close();
});

async function sim(users: number, seed = 3): Promise<StartedSimulator> {
  const s = await startTestSimulator({ users, seed });
  sims.push(s);
  return s;
}

function sink(isTTY = false): Writable & { isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return Object.assign(stream, { isTTY, text: () => chunks.join('') });
}

async function audit(args: string[], env: Record<string, string> = {}, tty = false) {
  const stdout = sink();
  const stderr = sink(tty);
  const code = await runCli(['audit', ...args], {
    stdin: Readable.from([]),
    stdout,
    stderr,
    env: { LEAF_USERNAME: TEST_SIM_ACCOUNT.username, LEAF_PASSWORD: TEST_SIM_ACCOUNT.password, LEAF_MAX_RETRIES: '3', ...env },
    signal: new AbortController().signal,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

function tally(rows: Array<{ category: string }>): Record<string, number> {
  const counts = Object.fromEntries(CATEGORIES.map((c) => [c, 0]));
  for (const row of rows) counts[row.category] = (counts[row.category] ?? 0) + 1;
  return counts;
}

describe('credwatch audit against the simulator', () => {
  it('--json prints one object per credential whose counts equal the simulator mix, and exits 1', async () => {
    const s = await sim(150);
    const result = await audit(['--leaf-url', s.url, '--rps', '400', '--concurrency', '8', '--json']);
    expect(result.stderr).toBe('');
    const rows = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, string | null>);
    for (const row of rows)
      expect(Object.keys(row).sort()).toEqual(['action', 'category', 'email', 'externalId', 'leafUserId', 'name', 'reason', 'since']);
    // The simulator's users carry an externalId and a name; since is ISO 8601 with milliseconds, or null.
    for (const row of rows) expect(row.externalId).toBe(s.sim.user(row.leafUserId ?? '')?.externalId);
    for (const row of rows) expect(row.since === null || /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(row.since ?? '')).toBe(true);
    expect(rows.some((r) => r.category === 'not_connected' && r.since === null)).toBe(true);
    expect(rows.map((r) => r.leafUserId).sort()).toEqual([...s.sim.userIds()].sort());
    const expected = s.sim.expected();
    expect(tally(rows as Array<{ category: string }>)).toEqual(expected);
    for (const row of rows) expect(row.category).toBe(s.sim.expectedCategory(row.leafUserId ?? ''));
    expect(expected.healthy).toBeLessThan(150);
    expect(result.code).toBe(1);
  });

  it('prints a table of credentials needing action and the counts per category', async () => {
    const s = await sim(60, 11);
    const result = await audit(['--leaf-url', s.url, '--rps', '400']);
    expect(result.code).toBe(1);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^USER ID\s+EXTERNAL ID\s+NAME\s+CATEGORY\s+SINCE\s+ACTION\s+REASON$/);
    const expected = s.sim.expected();
    const failing = 60 - expected.healthy;
    expect(lines.slice(1, 1 + failing).every((l) => !/\bhealthy\b/.test(l) && l.trim() !== '')).toBe(true);
    for (const category of CATEGORIES) {
      expect(result.stdout).toMatch(new RegExp(`^  ${category}\\s+${expected[category]}$`, 'm'));
    }
    expect(result.stdout).toContain('(60 checked in');
  });

  it('--only-failing leaves healthy credentials out of --json', async () => {
    const s = await sim(60, 11);
    const result = await audit(['--leaf-url', s.url, '--rps', '400', '--json', '--only-failing']);
    const rows = result.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { category: string });
    expect(rows.length).toBe(60 - s.sim.expected().healthy);
    expect(rows.some((r) => r.category === 'healthy')).toBe(false);
  });

  it('exits 0 when every credential is healthy, and shows progress only on a terminal', async () => {
    const s = await sim(0);
    for (let i = 0; i < 3; i += 1) {
      await fetch(`${s.url}/_sim/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ statusCode: 200, body: '{"organizations": []}' }] }),
      });
    }
    const result = await audit(['--leaf-url', s.url], {}, true);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Every credential is healthy\./);
    expect(result.stderr).toMatch(/\d+\/3 users · [\d.]+\/s/);
    const quiet = await audit(['--leaf-url', s.url]);
    expect(quiet.stderr).toBe('');
  });

  it('stays under --rps and rides out 429s from Leaf', async () => {
    const s = await sim(25, 5);
    const started = Date.now();
    const paced = await audit(['--leaf-url', s.url, '--rps', '20', '--json']);
    const elapsedS = (Date.now() - started) / 1000;
    const served = Object.values(s.sim.stats().requests).reduce((a, b) => a + b, 0);
    expect(paced.code).toBe(1);
    expect(served).toBeGreaterThan(25);
    expect(served).toBeLessThanOrEqual(Math.floor(20 * elapsedS) + 1);

    s.sim.resetStats();
    s.sim.setFaults({ rateLimitRps: 8 });
    const limited = await audit(['--leaf-url', s.url, '--rps', '100', '--json']);
    expect(s.sim.stats().rateLimited).toBeGreaterThan(0);
    expect(limited.code).toBe(1);
    const rows = limited.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { category: string });
    expect(tally(rows)).toEqual(s.sim.expected());
  });

  it('exits 2 with one line for a refused login, an unreachable Leaf, bad options or bad config', async () => {
    const s = await sim(5);
    const cases = [
      { args: ['--leaf-url', s.url], env: { LEAF_PASSWORD: 'wrong-password-value' }, says: /Leaf refused the username\/password/ },
      { args: ['--leaf-url', `http://127.0.0.1:${await freePort()}`], env: { LEAF_MAX_RETRIES: '1' }, says: /could not be reached/ },
      { args: ['--leaf-url', s.url, '--rps', '0'], env: {}, says: /--rps: expected a number above 0/ },
      { args: ['--leaf-url', 'ftp://x'], env: {}, says: /--leaf-url: expected an http\(s\) URL/ },
      { args: ['--bogus'], env: {}, says: /Unknown option '--bogus'/ },
      { args: ['--provider', 'acme'], env: {}, says: /unknown provider "acme"/ },
      {
        args: ['--leaf-url', s.url],
        env: { LEAF_REQUEST_TIMEOUT: 'soon', LEAF_MAX_RETRIES: 'x' },
        says: /invalid configuration: LEAF_REQUEST_TIMEOUT.*; LEAF_MAX_RETRIES/,
      },
      { args: ['--leaf-url', s.url], env: { LEAF_USERNAME: '', LEAF_PASSWORD: '' }, says: /no Leaf credentials/ },
    ];
    for (const c of cases) {
      const result = await audit(c.args, c.env);
      expect(result.code, c.args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^credwatch audit: [^\n]+\n$/);
      expect(result.stderr).toMatch(c.says);
      expect(result.stderr).not.toContain('wrong-password-value');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('uses a static LEAF_TOKEN without logging in', async () => {
    const s = await sim(20, 9);
    const token = await simToken(s.url);
    const result = await audit(['--leaf-url', s.url, '--rps', '400', '--json'], {
      LEAF_TOKEN: token,
      LEAF_USERNAME: '',
      LEAF_PASSWORD: '',
    });
    expect(result.stderr).toBe('');
    const rows = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { category: string });
    expect(tally(rows)).toEqual(s.sim.expected());
    expect(s.sim.stats().requests['authenticate']).toBe(1); // simToken's own login only
  });

  it('has --help', async () => {
    const result = await audit(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: credwatch audit/);
    expect(result.stdout).toMatch(/--only-failing/);
  });
});
