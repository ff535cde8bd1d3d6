import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonEnv, waitFor } from './helpers/daemon.js';
import { RedisServerProcess } from './helpers/redis-server.js';
import { uniquePrefix } from './helpers/redis.js';
import { startTestSimulator } from './helpers/simulator.js';

const BIN = fileURLToPath(new URL('../bin/credwatch.js', import.meta.url));

describe('logging through a Redis outage (real redis-server restarted under a daemon process)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('writes only JSON lines to stdout and a bounded number of error lines during a 3 s outage', async () => {
    // A restart that keeps the data (append-only file), as a production Redis does.
    const server = await RedisServerProcess.start({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    cleanups.push(() => server.dispose());
    const sim = await startTestSimulator({ users: 5 });
    cleanups.push(() => sim.close());
    // The redis-server is private to this test: its keys go with it.
    const env = {
      ...daemonEnv(sim, uniquePrefix('outage-log'), {
        REDIS_URL: server.url,
        CREDWATCH_WEBHOOK_URL: 'http://127.0.0.1:9/hook',
        CREDWATCH_WEBHOOK_SECRET: 'whsec_dGVzdC1zZWNyZXQtZm9yLW91dGFnZS10ZXN0',
      }),
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    };
    let stdout = '';
    let stderr = '';
    const child = spawn(process.execPath, [BIN, 'start'], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    cleanups.push(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    });
    await waitFor('the daemon to start', async () => {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stdout}${stderr}`);
      return stdout.includes('credwatch started');
    });
    const before = stdout.length;

    await server.stop();
    await new Promise((r) => setTimeout(r, 3000));
    await server.startAgain();
    await waitFor('the daemon to log that Redis is back', async () => stdout.slice(before).includes('Redis connection restored'), 20_000);
    await new Promise((r) => setTimeout(r, 1000));

    const lines = stdout
      .slice(before)
      .split('\n')
      .filter((l) => l !== '');
    const notJson = lines.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    expect(notJson, 'plain-text lines on stdout').toEqual([]);
    expect(stderr, 'stack traces on stderr').not.toMatch(/^\s+at /m);
    const errors = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((l) => l.level === 'error');
    // One line per 10 s per process: a 3 s outage (plus reconnect) fits in one, two if it straddles.
    expect(errors.length, JSON.stringify(errors)).toBeGreaterThanOrEqual(1);
    expect(errors.length, JSON.stringify(errors)).toBeLessThanOrEqual(2);
  });
});
