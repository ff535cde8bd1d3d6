/**
 * What a failed `credwatch start` must not leave behind: it checks its listening ports before it touches
 * Redis or Leaf, and removes the few keys its start created when it gives up (a queue's meta key, the
 * request budget), never a key that was there before.
 */
import { createServer } from 'node:net';
import type { Redis } from 'ioredis';
import { CredwatchError } from './errors.js';

/** Fails with PORT_IN_USE (naming the variable to change) when `port` cannot be bound on `host`. */
export async function assertPortFree(port: number, host: string, variable: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'is already in use (EADDRINUSE)' : `cannot be bound (${error.code ?? error.message})`;
      reject(new CredwatchError('PORT_IN_USE', `port ${port} on ${host} ${why}: stop what listens there or set ${variable}`));
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** Remembers which of `keys` did not exist before the start, so a failed start can remove only those. */
export async function startKeysGuard(redis: Redis, keys: readonly string[]): Promise<{ removeCreated: () => Promise<void> }> {
  const absent: string[] = [];
  for (const key of keys) if ((await redis.exists(key)) === 0) absent.push(key);
  return {
    removeCreated: async () => {
      for (const key of absent) await redis.unlink(key);
    },
  };
}
