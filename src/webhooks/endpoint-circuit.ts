import type { Redis } from 'ioredis';

import type { EndpointCircuitState } from '../core/webhook-event-types.js';

/** The health of one endpoint, as metrics, the API and the status page show it (declared on the ground floor). */
export { ENDPOINT_STATES, type EndpointCircuitState } from '../core/webhook-event-types.js';

/** What a delivery may do now: send normally, send as the endpoint's one probe, or wait. */
export type Admission = 'send' | 'probe' | 'wait';

// Decides, atomically across every worker process, whether a delivery may be sent.
// KEYS: endpoint hash, probe key, waiting set, retrying set. ARGV: job id, waiting score (ms), probe ttl ms.
const ADMIT = `
redis.call('ZREM', KEYS[4], ARGV[1])
if not redis.call('HGET', KEYS[1], 'failingSince') then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 'send'
end
local holder = redis.call('GET', KEYS[2])
if (not holder) or holder == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 'probe'
end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 'wait'
`;

// Counts a failed attempt and opens the circuit at the threshold. KEYS: endpoint hash.
// ARGV: at ms, error, threshold. Returns {failuresInRow, 1 when failing}.
const FAILURE = `
local n = redis.call('HINCRBY', KEYS[1], 'failuresInRow', 1)
redis.call('HSET', KEYS[1], 'lastFailureAt', ARGV[1], 'lastError', ARGV[2])
local failing = redis.call('HGET', KEYS[1], 'failingSince')
if (not failing) and n >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'failingSince', ARGV[1])
  failing = ARGV[1]
end
return {n, failing and 1 or 0}
`;

// Records a 2xx and closes the circuit. KEYS: endpoint hash, probe key, waiting set, retrying set.
// ARGV: at ms, job id. When the endpoint was failing, the probe held by another delivery and the
// deliveries on their own retry timer join the waiting set, so the release sends them too without
// waiting for their timers. Returns 1 when the endpoint was failing (the waiting set must be released).
const SUCCESS = `
local was = redis.call('HGET', KEYS[1], 'failingSince')
redis.call('HSET', KEYS[1], 'lastSuccessAt', ARGV[1], 'failuresInRow', '0')
redis.call('HDEL', KEYS[1], 'failingSince')
local holder = redis.call('GET', KEYS[2])
redis.call('DEL', KEYS[2])
if not was then return 0 end
if holder and holder ~= ARGV[2] then redis.call('ZADD', KEYS[3], 0, holder) end
redis.call('ZUNIONSTORE', KEYS[3], 2, KEYS[3], KEYS[4], 'AGGREGATE', 'MIN')
redis.call('DEL', KEYS[4])
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
`;

// Keeps the probe role with the job holding it. KEYS: probe key. ARGV: job id, ttl ms.
const KEEP_PROBE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

// Gives the probe role up when this job holds it. KEYS: probe key. ARGV: job id.
const DROP_PROBE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

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
      return (await redis.eval(
        ADMIT,
        4,
        endpointKey(endpoint),
        probeKey(endpoint),
        waitingKey(endpoint),
        retryingKey(endpoint),
        jobId,
        String(createdAtMs),
        String(Math.ceil(probeTtlMs)),
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
      const [n, failing] = (await redis.eval(FAILURE, 1, endpointKey(endpoint), String(atMs), error, String(threshold))) as [
        number,
        number,
      ];
      return { failuresInRow: Number(n), failing: Number(failing) === 1 };
    },

    /** Records a 2xx; true when this closed the circuit (the waiting deliveries must be released). */
    async recordSuccess(endpoint: string, atMs: number, jobId: string): Promise<boolean> {
      return (
        Number(
          await redis.eval(
            SUCCESS,
            4,
            endpointKey(endpoint),
            probeKey(endpoint),
            waitingKey(endpoint),
            retryingKey(endpoint),
            String(atMs),
            jobId,
          ),
        ) === 1
      );
    },

    /** Extends the probe role of `jobId` over its next delay. */
    async keepProbe(endpoint: string, jobId: string, ttlMs: number): Promise<void> {
      await redis.eval(KEEP_PROBE, 1, probeKey(endpoint), jobId, String(Math.ceil(ttlMs)));
    },

    /** Releases the probe role of `jobId` (it was given up), so another waiting delivery can take it. */
    async dropProbe(endpoint: string, jobId: string): Promise<void> {
      await redis.eval(DROP_PROBE, 1, probeKey(endpoint), jobId);
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
