import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testRedisUrl } from './helpers/redis.js';

const BIN = fileURLToPath(new URL('../bin/credwatch.js', import.meta.url));

/** Runs `credwatch demo` as a user would and collects what it prints. */
function runDemo(args: string[], env: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  if (!existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url))))
    throw new Error('dist/ is missing: run `npm run build` first');
  return new Promise((resolve) => {
    let out = '';
    const child = spawn(process.execPath, [BIN, 'demo', ...args], {
      env: { ...env, LOG_LEVEL: 'warn', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('credwatch demo (real processes)', () => {
  it('assesses every simulated credential, then shows signed webhooks as it breaks and heals credentials', async () => {
    const { code, out } = await runDemo(
      ['--port', '0', '--users', '12', '--seed', '2', '--interval', '2s', '--duration', '20s'],
      { PATH: process.env['PATH'] ?? '', REDIS_URL: testRedisUrl() },
      50_000,
    );
    expect(out).toContain("first sweep done: all 12 credentials in the simulator's expected categories");
    expect(out).toMatch(/sim: broke user \S+/);
    expect(out).toMatch(/webhook {2}credential\.action_required +user \S+ {2}healthy -> cognito_token_expired {2}\(signature verified\)/);
    expect(out).not.toContain('BAD SIGNATURE');
    expect(out).toMatch(/status page {3}http:\/\/127\.0\.0\.1:\d+\//);
    expect(code).toBe(0);
  }, 60_000);

  it('starts a throwaway redis-server when REDIS_URL does not answer, and explains when there is none', async () => {
    const spawned = await runDemo(
      ['--port', '0', '--users', '3', '--interval', '2s', '--duration', '4s', '--no-scenario'],
      { PATH: process.env['PATH'] ?? '', REDIS_URL: 'redis://127.0.0.1:1' },
      40_000,
    );
    expect(spawned.out).toContain('(throwaway redis-server)');
    expect(spawned.code).toBe(0);

    const none = await runDemo(['--duration', '1s'], { PATH: '/nonexistent', REDIS_URL: 'redis://127.0.0.1:1' }, 20_000);
    expect(none.code).toBe(2);
    expect(none.out).toContain('no Redis answers at redis://127.0.0.1:1 and redis-server is not installed');
    expect(none.out.trim().split('\n')).toHaveLength(1);
  }, 70_000);
});
