import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { deleteKeysWithPrefix } from '../../src/local-resources.js';
import { RedisServerProcess, waitForRedis } from './redis-server.js';

export interface ResolvedRedis {
  url: string;
  source: 'REDIS_URL' | 'testcontainers' | 'redis-server';
  stop(): Promise<void>;
}

const HOW_TO =
  'No Redis for the tests. Give one of: (1) REDIS_URL=redis://host:port of a running Redis; ' +
  '(2) a Docker engine, for a testcontainers Redis; (3) `redis-server` on PATH (apt-get install redis-server).';

function dockerEngineLikely(env: Record<string, string | undefined>): boolean {
  return (
    env['DOCKER_HOST'] !== undefined || existsSync('/var/run/docker.sock') || existsSync(`${env['HOME'] ?? ''}/.docker/run/docker.sock`)
  );
}

function onPath(binary: string, env: Record<string, string | undefined>): boolean {
  return (env['PATH'] ?? '').split(':').some((dir) => dir !== '' && existsSync(`${dir}/${binary}`));
}

/**
 * Finds a Redis for the test run, in this order: REDIS_URL; a testcontainers Redis when a Docker engine
 * answers; a throwaway redis-server on a free port; else fails naming the three options.
 */
export async function resolveRedis(env: Record<string, string | undefined> = process.env): Promise<ResolvedRedis> {
  const fromEnv = env['REDIS_URL'];
  if (fromEnv !== undefined && fromEnv !== '') {
    await waitForRedis(fromEnv, 5000);
    return { url: fromEnv, source: 'REDIS_URL', stop: async () => undefined };
  }
  if (dockerEngineLikely(env)) {
    try {
      const { GenericContainer, Wait } = await import('testcontainers');
      const container = await new GenericContainer('redis:7-alpine')
        .withExposedPorts(6379)
        .withCommand(['redis-server', '--maxmemory-policy', 'noeviction', '--save', ''])
        .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
        .start();
      const url = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
      return { url, source: 'testcontainers', stop: async () => void (await container.stop()) };
    } catch (error) {
      // Fall through to a local redis-server, but say why the container did not come up.
      process.stderr.write(`testcontainers Redis unavailable (${(error as Error).message}); trying redis-server\n`);
    }
  }
  if (onPath('redis-server', env)) {
    const server = await RedisServerProcess.start();
    return { url: server.url, source: 'redis-server', stop: () => server.dispose() };
  }
  throw new Error(HOW_TO);
}

/** The Redis URL resolved once by the global setup, for use inside tests. */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A key prefix no other test uses. */
export function uniquePrefix(name: string): string {
  return `cwtest-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${randomBytes(4).toString('hex')}`;
}

/** A Redis client for a test, plus a cleanup that deletes every key under the prefix and disconnects. */
export async function testRedis(prefix: string): Promise<{ redis: Redis; cleanup: () => Promise<void> }> {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  return {
    redis,
    cleanup: async () => {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    },
  };
}

/** Deletes every key starting with `prefix` (SCAN, never KEYS). */
export function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  return deleteKeysWithPrefix(redis, prefix);
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisSource: string;
  }
}
