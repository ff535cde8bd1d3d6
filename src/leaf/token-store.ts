import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { loadLuaScript } from '../core/lua-script.js';
import { sleep } from './request-budget.js';

/** Logs in to Leaf and answers the new id_token. */
export type Login = () => Promise<string>;

/**
 * Where the Leaf id_token lives between requests. `obtain` answers a token believed valid, calling
 * `login` only when none is cached, or when the cached one is the token Leaf just refused (`rejected`):
 * so N callers that all see a 401 for the same token cause one login, not N.
 */
export interface TokenStore {
  obtain(login: Login, rejected?: string): Promise<string>;
  /** Forgets the cached token (local copy and shared copy). */
  clear(): Promise<void>;
}

/** When a cached token stops being used: shortly before the JWT `exp`. */
export const DEFAULT_TOKEN_LIFE_MS = 60 * 60 * 1000;
const MAX_EARLY_RENEWAL_MS = 5 * 60 * 1000;

/**
 * Reads the JWT payload's `exp` and `iat` (seconds), without verifying the signature: credwatch only
 * needs to know when to renew. Undefined for anything that is not a JWT with a numeric `exp`.
 */
export function decodeJwtTimes(token: string): { expMs: number; iatMs: number | undefined } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (typeof payload !== 'object' || payload === null) return undefined;
    const { exp, iat } = payload as { exp?: unknown; iat?: unknown };
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return undefined;
    return { expMs: exp * 1000, iatMs: typeof iat === 'number' && Number.isFinite(iat) ? iat * 1000 : undefined };
  } catch {
    return undefined;
  }
}

/**
 * The time after which a token should no longer be used: its `exp` minus a tenth of its life (at most
 * 5 minutes), so a request never leaves with a token about to expire. A token without `exp` is kept
 * `DEFAULT_TOKEN_LIFE_MS`, one already expired by our clock 1 to 60 s (a 401 renews either at once).
 */
export function tokenUseUntil(token: string, nowMs: number): number {
  const times = decodeJwtTimes(token);
  if (times === undefined) return nowMs + DEFAULT_TOKEN_LIFE_MS;
  const life = times.expMs - (times.iatMs ?? nowMs);
  const early = Math.min(MAX_EARLY_RENEWAL_MS, Math.max(0, life / 10));
  const useUntil = times.expMs - early;
  // Already past by our clock (skew with Leaf's): keep it briefly rather than log in on every request;
  // a 401 still renews it at once.
  if (useUntil <= nowMs) return nowMs + Math.min(60_000, Math.max(1000, life / 10));
  return useUntil;
}

/** A token cached in this process, with a single-flight login. */
export class MemoryTokenStore implements TokenStore {
  private cached: { token: string; useUntil: number } | undefined;
  private inflight: Promise<string> | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  async obtain(login: Login, rejected?: string): Promise<string> {
    const cached = this.cached;
    if (cached && cached.token !== rejected && this.now() < cached.useUntil) return cached.token;
    if (this.inflight) return this.inflight;
    this.inflight = (async () => {
      try {
        const token = await login();
        this.cached = { token, useUntil: tokenUseUntil(token, this.now()) };
        return token;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }

  async clear(): Promise<void> {
    this.cached = undefined;
  }
}

/** Deletes the lock only when this process still holds it (scripts/release-lock.lua). */
const RELEASE_SCRIPT = loadLuaScript(new URL('./scripts/release-lock.lua', import.meta.url));

/**
 * The token shared by every worker through one Redis key (`key`, TTL = the token's remaining useful
 * life), guarded by a lock (`key:lock`, SET NX PX) so that many workers log in once. Each process also
 * keeps a local copy, so a request costs no Redis round trip while the token is good.
 */
export class RedisTokenStore implements TokenStore {
  private readonly redis: Redis;
  private readonly key: string;
  private readonly lockKey: string;
  private readonly lockTtlMs: number;
  private readonly pollMs: number;
  private readonly now: () => number;
  private readonly local = new MemoryTokenStore();

  constructor(options: { redis: Redis; key: string; lockTtlMs?: number; pollMs?: number; now?: () => number }) {
    this.redis = options.redis;
    this.key = options.key;
    this.lockKey = `${options.key}:lock`;
    this.lockTtlMs = options.lockTtlMs ?? 30_000;
    this.pollMs = options.pollMs ?? 50;
    this.now = options.now ?? Date.now;
  }

  async obtain(login: Login, rejected?: string): Promise<string> {
    // The local single-flight makes one process do the Redis dance once, however many callers wait.
    return this.local.obtain(() => this.fromRedis(login, rejected), rejected);
  }

  async clear(): Promise<void> {
    await this.local.clear();
    await this.redis.del(this.key);
  }

  private async fromRedis(login: Login, rejected: string | undefined): Promise<string> {
    const deadline = this.now() + this.lockTtlMs * 2;
    for (;;) {
      const shared = await this.redis.get(this.key);
      if (shared !== null && shared !== rejected) return shared;
      const nonce = randomBytes(16).toString('hex');
      const locked = await this.redis.set(this.lockKey, nonce, 'PX', this.lockTtlMs, 'NX');
      if (locked === 'OK') {
        try {
          // Another worker may have stored a fresh token between our GET and our lock.
          const again = await this.redis.get(this.key);
          if (again !== null && again !== rejected) return again;
          const token = await login();
          const ttl = Math.floor(tokenUseUntil(token, this.now()) - this.now());
          if (ttl > 0) await this.redis.set(this.key, token, 'PX', ttl);
          return token;
        } finally {
          await RELEASE_SCRIPT.run(this.redis, [this.lockKey], [nonce]);
        }
      }
      if (this.now() > deadline) {
        // The lock holder is stuck for longer than twice its lease: log in ourselves rather than hang.
        return login();
      }
      await sleep(this.pollMs);
    }
  }
}
