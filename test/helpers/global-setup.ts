import type { TestProject } from 'vitest/node';
import { resolveRedis } from './redis.js';

/** Resolves one Redis for the whole run and hands its URL to every test file. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await resolveRedis(process.env);
  project.provide('redisUrl', redis.url);
  project.provide('redisSource', redis.source);
  process.stderr.write(`tests use Redis at ${redis.url} (${redis.source})\n`);
  return () => redis.stop();
}
