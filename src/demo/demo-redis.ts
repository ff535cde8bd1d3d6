import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../local-resources.js';

/** A Redis for the demo and how to give it back. */
export interface DemoRedis {
  url: string;
  /** 'given' = REDIS_URL or the default local Redis answered; 'spawned' = a throwaway redis-server. */
  source: 'given' | 'spawned';
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1500 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function onPath(binary: string, path: string | undefined): boolean {
  return (path ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, binary)));
}

/**
 * Finds a Redis for `credwatch demo`: REDIS_URL (or the default local one) when it answers, else a
 * throwaway `redis-server` on a free port, else an error that says how to get one.
 */
export async function resolveDemoRedis(env: Record<string, string | undefined>): Promise<DemoRedis> {
  const url = env['REDIS_URL'] || 'redis://127.0.0.1:6379';
  if (await answers(url)) return { url, source: 'given', stop: async () => undefined };
  if (!onPath('redis-server', env['PATH'])) {
    throw new Error(
      `no Redis answers at ${url} and redis-server is not installed. Start one (docker run -p 6379:6379 redis:7, ` +
        'or apt-get install redis-server / brew install redis) or set REDIS_URL, then run credwatch demo again.',
    );
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'credwatch-demo-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  const spawnedUrl = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await answers(spawnedUrl)); i += 1) await new Promise((r) => setTimeout(r, 100));
  if (!(await answers(spawnedUrl))) {
    child.kill('SIGKILL');
    throw new Error('started redis-server but it did not answer within 5 s');
  }
  return {
    url: spawnedUrl,
    source: 'spawned',
    stop: async () => {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
