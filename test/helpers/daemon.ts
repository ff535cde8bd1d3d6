import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '../../src/logger.js';
import { startDaemon, type Daemon } from '../../src/main.js';
import type { Role } from '../../src/config.js';
import type { StartedSimulator } from '../../src/sim/simulator.js';
import { TEST_SIM_ACCOUNT } from './simulator.js';
import { testRedisUrl } from './redis.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
const BIN = fileURLToPath(new URL('../../bin/credwatch.js', import.meta.url));

/** The environment of a test daemon pointed at a simulator, with a private key prefix. */
export function daemonEnv(sim: StartedSimulator, prefix: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    LEAF_API_URL: sim.url,
    LEAF_USERNAME: TEST_SIM_ACCOUNT.username,
    LEAF_PASSWORD: TEST_SIM_ACCOUNT.password,
    LEAF_MAX_RETRIES: '1',
    REDIS_URL: testRedisUrl(),
    CREDWATCH_PREFIX: prefix,
    CREDWATCH_POLL_INTERVAL: '1h',
    CREDWATCH_LEAF_RPS: '500',
    CREDWATCH_POLL_CONCURRENCY: '8',
    CREDWATCH_PORT: '0',
    CREDWATCH_HOST: '127.0.0.1',
    CREDWATCH_ADMIN_TOKEN: ADMIN_TOKEN,
    CREDWATCH_SHUTDOWN_TIMEOUT: '3s',
    // Tests of other features expect re-auth webhooks at once (incident tests set their own).
    CREDWATCH_INCIDENT_SETTLE: '0s',
    LOG_LEVEL: 'silent',
    ...overrides,
  };
}

/** A quiet logger for in-process daemons (LOG_LEVEL=debug in the environment makes tests talk). */
export function testLogger(): Logger {
  return createLogger({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent', format: 'json' });
}

/** Starts a daemon in this process. */
export async function startTestDaemon(
  sim: StartedSimulator,
  prefix: string,
  options: { env?: Record<string, string>; roles?: Role[] } = {},
): Promise<Daemon> {
  return startDaemon({
    env: daemonEnv(sim, prefix, options.env),
    roles: options.roles ?? ['scheduler', 'worker', 'http'],
    logger: testLogger(),
  });
}

/** Polls `check` until it returns a truthy value, or throws with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false | null>,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

/** Waits until every user of the simulator has a state and the poll queue is empty. */
export async function waitForSweepDone(daemon: Daemon, users: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `${users} credentials assessed and an idle poll queue`,
    async () => {
      const total = (await daemon.store.counts()).reduce((sum, r) => sum + r.count, 0);
      const c = await daemon.pollQueue.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
      const busy = (c['waiting'] ?? 0) + (c['prioritized'] ?? 0) + (c['active'] ?? 0) + (c['delayed'] ?? 0);
      return total >= users && busy === 0;
    },
    timeoutMs,
  );
}

/** Calls the daemon's admin API. */
export async function api<T = unknown>(daemon: Daemon, path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${daemon.httpUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers ?? {}) },
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Runs `credwatch start` as a child process (for kill -9 tests); resolves once it logged that it started. */
export async function spawnDaemon(
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ child: ChildProcess; output: () => string }> {
  let output = '';
  const child = spawn(process.execPath, [BIN, 'start', ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env, LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  await waitFor(
    'the child daemon to start',
    async () => {
      if (child.exitCode !== null) throw new Error(`credwatch start exited with ${child.exitCode}: ${output}`);
      return output.includes('credwatch started');
    },
    20_000,
  );
  return { child, output: () => output };
}

/** Sends a failing or a successful event to one simulated user through the control API. */
export async function simEvent(sim: StartedSimulator, userId: string, kind: 'expired' | 'ok' | 'env_mismatch'): Promise<void> {
  const body = {
    expired: { statusCode: 400, body: '{"__type":"NotAuthorizedException","message":"Refresh Token has expired"}' },
    ok: { statusCode: 200, body: '{"organizations":[]}' },
    env_mismatch: {
      statusCode: 400,
      body: '{"__type":"ResourceNotFoundException","message":"User pool client 3n4b5urk1ft4fl3mg5e62d9ado does not exist."}',
    },
  }[kind];
  const res = await fetch(`${sim.url}/_sim/users/${userId}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ ...body, createdDate: new Date().toISOString() }]),
  });
  if (!res.ok) throw new Error(`sim control answered ${res.status}`);
}
