import type { Redis } from 'ioredis';
import { loadLuaScript } from '../core/lua-script.js';

import type { EndpointCircuitState } from '../core/webhook-event-types.js';

/** The health of one endpoint, as metrics, the API and the status page show it (declared on the ground floor). */
export { ENDPOINT_STATES, type EndpointCircuitState } from '../core/webhook-event-types.js';

/** What a delivery may do now: send normally, send as the endpoint's one probe, or wait. */
export type Admission = 'send' | 'probe' | 'wait';

/** Decides whether a delivery may be sent, atomically across every worker (scripts/circuit-admit.lua). */
const ADMIT = loadLuaScript(new URL('./scripts/circuit-admit.lua', import.meta.url));

/** Counts a failed attempt and opens the circuit at the threshold (scripts/circuit-failure.lua). */
const FAILURE = loadLuaScript(new URL('./scripts/circuit-failure.lua', import.meta.url));

/** Records a 2xx and closes the circuit (scripts/circuit-success.lua). */
const SUCCESS = loadLuaScript(new URL('./scripts/circuit-success.lua', import.meta.url));

/** Keeps the probe role with the job holding it (scripts/circuit-keep-probe.lua). */
const KEEP_PROBE = loadLuaScript(new URL('./scripts/circuit-keep-probe.lua', import.meta.url));

/** Gives the probe role up when this job holds it (scripts/circuit-drop-probe.lua). */
const DROP_PROBE = loadLuaScript(new URL('./scripts/circuit-drop-probe.lua', import.meta.url));

/**
 * The circuit of each endpoint in Redis, shared by every worker process: consecutive failures, the
 * time it started failing, the job holding the probe role, the deliveries waiting for it to recover
 * (a sorted set of job ids by creation time, so the catch-up sends the oldest first) and those on
 * their own retry timer (joined to the waiting ones when the endpoint recovers).
 */
export function createEndpointCircuit(redis: Redis, prefix: string) {
  const key = (...parts: string[]) => [prefix, 'webhooks', ...parts].join(':');
  const endpointKey = (name: string) => key('endpoint', name);
  const probeKey = (name: string) => key('probe', name);
  const waitingKey = (name: string) => key('waiting', name);
  const retryingKey = (name: string) => key('retrying', name);

  return {
    waitingKey,

    /** Whether the delivery `jobId` may be sent now; 'wait' also puts it on the waiting set. */
    async admit(endpoint: string, jobId: string, createdAtMs: number, probeTtlMs: number): Promise<Admission> {
      return (await ADMIT.run(
        redis,
        [endpointKey(endpoint), probeKey(endpoint), waitingKey(endpoint), retryingKey(endpoint)],
        [jobId, String(createdAtMs), String(Math.ceil(probeTtlMs))],
      )) as Admission;
    },

    /**
     * Notes a delivery that failed while the endpoint was still healthy and sleeps on its own retry
     * timer: if the endpoint goes failing and recovers meanwhile, the recovery sends it at once too.
     */
    async markRetrying(endpoint: string, jobId: string, createdAtMs: number): Promise<void> {
      await redis.zadd(retryingKey(endpoint), createdAtMs, jobId);
    },

    /** Puts a delivery on the waiting set (it is parked until the endpoint recovers). */
    async park(endpoint: string, jobId: string, createdAtMs: number): Promise<void> {
      await redis.zadd(waitingKey(endpoint), createdAtMs, jobId);
    },

    /** Counts a failed attempt (redacted error); returns the failures in a row and whether the endpoint is failing. */
    async recordFailure(
      endpoint: string,
      atMs: number,
      error: string,
      threshold: number,
    ): Promise<{ failuresInRow: number; failing: boolean }> {
      const [n, failing] = (await FAILURE.run(redis, [endpointKey(endpoint)], [String(atMs), error, String(threshold)])) as [
        number,
        number,
      ];
      return { failuresInRow: Number(n), failing: Number(failing) === 1 };
    },

    /** Records a 2xx; true when this closed the circuit (the waiting deliveries must be released). */
    async recordSuccess(endpoint: string, atMs: number, jobId: string): Promise<boolean> {
      return (
        Number(
          await SUCCESS.run(
            redis,
            [endpointKey(endpoint), probeKey(endpoint), waitingKey(endpoint), retryingKey(endpoint)],
            [String(atMs), jobId],
          ),
        ) === 1
      );
    },

    /** Extends the probe role of `jobId` over its next delay. */
    async keepProbe(endpoint: string, jobId: string, ttlMs: number): Promise<void> {
      await KEEP_PROBE.run(redis, [probeKey(endpoint)], [jobId, String(Math.ceil(ttlMs))]);
    },

    /** Releases the probe role of `jobId` (it was given up), so another waiting delivery can take it. */
    async dropProbe(endpoint: string, jobId: string): Promise<void> {
      await DROP_PROBE.run(redis, [probeKey(endpoint)], [jobId]);
    },

    /** Closes the circuit without a delivery (an operator's enable); the probe joins the waiting set. */
    async reset(endpoint: string): Promise<void> {
      const holder = await redis.get(probeKey(endpoint));
      const tx = redis
        .multi()
        .hdel(endpointKey(endpoint), 'failingSince')
        .hset(endpointKey(endpoint), 'failuresInRow', '0')
        .del(probeKey(endpoint));
      if (holder !== null) tx.zadd(waitingKey(endpoint), 0, holder);
      tx.zunionstore(waitingKey(endpoint), 2, waitingKey(endpoint), retryingKey(endpoint), 'AGGREGATE', 'MIN').del(retryingKey(endpoint));
      await tx.exec();
    },

    /** The state of every endpoint plus its waiting count, in one round trip. */
    async states(
      endpoints: readonly string[],
    ): Promise<Array<{ endpoint: string; state: EndpointCircuitState; failingSince: string | null; waiting: number; probe: boolean }>> {
      if (endpoints.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const name of endpoints)
        pipeline.hmget(endpointKey(name), 'disabled', 'failingSince').zcard(waitingKey(name)).exists(probeKey(name));
      const results = (await pipeline.exec()) ?? [];
      return endpoints.map((endpoint, i) => {
        const [disabled, failingSince] = (results[3 * i]?.[1] ?? [null, null]) as [string | null, string | null];
        const waiting = Number(results[3 * i + 1]?.[1] ?? 0);
        const probe = Number(results[3 * i + 2]?.[1] ?? 0) === 1;
        const state: EndpointCircuitState = disabled === '1' ? 'disabled' : failingSince ? 'failing' : 'healthy';
        return { endpoint, state, failingSince: failingSince ? new Date(Number(failingSince)).toISOString() : null, waiting, probe };
      });
    },

    /** The oldest waiting job ids (up to `count`). */
    async oldestWaiting(endpoint: string, count: number): Promise<string[]> {
      return redis.zrange(waitingKey(endpoint), '0', String(count - 1));
    },

    /** Takes job ids off the waiting set. */
    async unpark(endpoint: string, jobIds: readonly string[]): Promise<void> {
      if (jobIds.length > 0) await redis.zrem(waitingKey(endpoint), ...jobIds);
    },
  };
}

/** The endpoint circuit's interface. */
export type EndpointCircuit = ReturnType<typeof createEndpointCircuit>;
