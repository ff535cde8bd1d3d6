import type { ClientEnvironment } from './categories.js';

/**
 * Reads a Leaf credential's `clientEnvironment` from untrusted input: `STAGE` or `PRODUCTION` in any case,
 * else undefined (absent, another word, not a string).
 */
export function environmentOf(value: unknown): ClientEnvironment | undefined {
  if (typeof value !== 'string') return undefined;
  const upper = value.toUpperCase();
  return upper === 'STAGE' || upper === 'PRODUCTION' ? upper : undefined;
}
