import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisServerProcess } from './helpers/redis-server.js';

const BIN = fileURLToPath(new URL('../bin/credwatch.js', import.meta.url));

describe('credwatch demo that cannot start (real processes, a private redis-server)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('fails at once when its port is taken, names the port, and leaves no key in Redis', async () => {
    const server = await RedisServerProcess.start();
    cleanups.push(() => server.dispose());
    const blocker = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)),
    );
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));

    const started = Date.now();
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      let text = '';
      const child = spawn(process.execPath, [BIN, 'demo', '--port', String(port), '--users', '20', '--duration', '20s'], {
        env: { PATH: process.env['PATH'] ?? '', REDIS_URL: server.url, LOG_LEVEL: 'warn', LOG_FORMAT: 'json' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (c: Buffer) => (text += c.toString()));
      child.stderr.on('data', (c: Buffer) => (text += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve({ code: exitCode, out: text });
      });
    });
    expect(code).not.toBe(0);
    expect(out).toContain(`port ${port} on 127.0.0.1 is already in use (EADDRINUSE)`);
    expect(out).not.toContain('first sweep done');
    expect(Date.now() - started).toBeLessThan(15_000);
    const redis = new Redis(server.url);
    try {
      expect(await redis.dbsize()).toBe(0);
    } finally {
      redis.disconnect();
    }
  }, 40_000);
});
