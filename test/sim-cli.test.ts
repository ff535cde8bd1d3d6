import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = `${ROOT}bin/credwatch.js`;
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function run(args: string[]): {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'silent' } });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function waitFor(pattern: RegExp, text: () => string, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(text());
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)}; output so far:\n${text()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('credwatch sim (compiled CLI)', { timeout: 60_000 }, () => {
  beforeAll(() => {
    if (!existsSync(`${ROOT}dist/sim/sim.command.js`))
      throw new Error('dist/ is missing: run `npm run build` before this test (npm test does)');
  });

  it('prints the mix, then the listening line, serves Leaf, and exits 0 on SIGTERM', async () => {
    const proc = run(['sim', '--port', '0', '--users', '40', '--seed', '3']);
    const [, url] = await waitFor(/^listening on (http:\/\/127\.0\.0\.1:\d+)$/m, proc.stdout);
    expect(proc.stdout()).toMatch(/^\s+healthy\s+\d+\s+[\d.]+%$/m);
    const expected = (await (await fetch(`${url}/_sim/expected`)).json()) as { mix: Record<string, number>; total: number };
    expect(expected.total).toBe(40);
    for (const [category, count] of Object.entries(expected.mix)) {
      expect(proc.stdout()).toMatch(new RegExp(`^\\s+${category}\\s+${count}\\s`, 'm'));
    }
    const login = await fetch(`${url}/api/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'demo@example.com', password: 'demo-password', rememberMe: 'true' }),
    });
    expect(login.status).toBe(200);
    expect(proc.stdout()).not.toContain('demo-password');
    proc.child.kill('SIGTERM');
    expect(await proc.exit).toBe(0);
  });

  it('--help exits 0; bad options exit 2 with a one-line message and no stack trace', async () => {
    const help = run(['sim', '--help']);
    expect(await help.exit).toBe(0);
    expect(help.stdout()).toContain('--users N');
    for (const args of [['--users', 'lots'], ['--port', '70000'], ['--username', 'only-me'], ['--bogus']]) {
      const bad = run(['sim', ...args]);
      expect(await bad.exit, args.join(' ')).toBe(2);
      expect(bad.stderr().trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(bad.stderr()).toMatch(/^credwatch sim: /);
      expect(bad.stderr()).not.toMatch(/\n\s+at /);
    }
  });
});
