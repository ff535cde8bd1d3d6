import type { Redis } from 'ioredis';
import { loadLuaScript } from '../core/lua-script.js';
import type { LastNotified, NotificationDecision } from './notification-policy.js';

/** How long per-transition decisions and enqueue markers are kept: far longer than any crash window. */
const MARKER_TTL_MS = 30 * 24 * 3_600_000;

/** What `GET /api/webhooks/endpoints` shows about an endpoint (from Redis, shared by every replica). */
export interface EndpointRuntimeState {
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  failuresInRow: number;
  lastError: string | null;
  disabled: boolean;
  disabledAt: string | null;
}

/** Records the decision for one transition exactly once (scripts/record-decision.lua). */
const RECORD_DECISION = loadLuaScript(new URL('./scripts/record-decision.lua', import.meta.url));

function iso(ms: string | undefined): string | null {
  return ms === undefined || ms === '' ? null : new Date(Number(ms)).toISOString();
}

/**
 * Every Redis key of the webhook side except dead letters: last notification per credential, the
 * decision per transition, enqueue markers per delivery, and endpoint state (failures and the circuit
 * are written by endpoint-circuit.ts, in the same hash).
 */
export function createWebhookStore(redis: Redis, prefix: string) {
  const key = (...parts: string[]) => [prefix, 'webhooks', ...parts].join(':');
  const lastNotifiedKey = key('last-notified');
  const endpointKey = (name: string) => key('endpoint', name);
  const markerKey = (webhookId: string) => key('enqueued', webhookId);

  return {
    /** Returns the decision already recorded for a transition, if any ('none' = nothing to send). */
    async recordedDecision(transitionId: string): Promise<NotificationDecision | 'none' | undefined> {
      const raw = await redis.get(key('decision', transitionId));
      if (raw === null) return undefined;
      return raw === 'none' ? 'none' : (JSON.parse(raw) as NotificationDecision);
    },

    /** The last notification sent about a credential, with its raw value for compare-and-set. */
    async lastNotified(credentialKey: string): Promise<{ raw: string; value: LastNotified | null }> {
      const raw = (await redis.hget(lastNotifiedKey, credentialKey)) ?? '';
      return { raw, value: raw === '' ? null : (JSON.parse(raw) as LastNotified) };
    },

    /**
     * Stores the decision for a transition and, when it sends something, the new last-notified value,
     * atomically and only if last-notified still equals `basedOn`. Returns the decision now stored
     * (possibly one recorded earlier), or 'conflict' when the caller must decide again.
     */
    async recordDecision(input: {
      transitionId: string;
      credentialKey: string;
      basedOn: string;
      decision: NotificationDecision | null;
      atMs: number;
    }): Promise<NotificationDecision | 'none' | 'conflict'> {
      const value = input.decision === null ? 'none' : JSON.stringify(input.decision);
      const next: LastNotified | null =
        input.decision === null ? null : { type: input.decision.type, category: input.decision.category, atMs: input.atMs };
      const result = (await RECORD_DECISION.run(
        redis,
        [key('decision', input.transitionId), lastNotifiedKey],
        [value, input.basedOn, next === null ? '' : JSON.stringify(next), input.credentialKey, String(MARKER_TTL_MS)],
      )) as string | null;
      if (result === null) return 'conflict';
      return result === 'none' ? 'none' : (JSON.parse(result) as NotificationDecision);
    },

    /** The enqueue marker of one delivery: absent, 'pending' (enqueue may not have happened) or later. */
    async marker(webhookId: string): Promise<string | null> {
      return redis.get(markerKey(webhookId));
    },

    /** Sets an enqueue marker ('pending' only when none exists; later states overwrite). */
    async setMarker(webhookId: string, state: 'pending' | 'enqueued' | 'started'): Promise<void> {
      if (state === 'pending') await redis.set(markerKey(webhookId), state, 'PX', MARKER_TTL_MS, 'NX');
      else await redis.set(markerKey(webhookId), state, 'PX', MARKER_TTL_MS);
    },

    /** Marks an endpoint disabled (it answered 410 Gone); kept until `enable`. */
    async disable(endpoint: string, atMs: number): Promise<void> {
      await redis.hset(endpointKey(endpoint), { disabled: '1', disabledAt: String(atMs) });
    },

    /** Re-enables an endpoint disabled by a 410. */
    async enable(endpoint: string): Promise<void> {
      await redis.multi().hdel(endpointKey(endpoint), 'disabled', 'disabledAt').hset(endpointKey(endpoint), 'failuresInRow', '0').exec();
    },

    /** True when the endpoint was disabled by a 410. */
    async isDisabled(endpoint: string): Promise<boolean> {
      return (await redis.hget(endpointKey(endpoint), 'disabled')) === '1';
    },

    /** The runtime state of one endpoint. */
    async endpointState(endpoint: string): Promise<EndpointRuntimeState> {
      const h = await redis.hgetall(endpointKey(endpoint));
      return {
        lastSuccessAt: iso(h['lastSuccessAt']),
        lastFailureAt: iso(h['lastFailureAt']),
        failuresInRow: Number(h['failuresInRow'] ?? '0'),
        lastError: h['lastError'] ?? null,
        disabled: h['disabled'] === '1',
        disabledAt: iso(h['disabledAt']),
      };
    },
  };
}

/** The webhook store's interface. */
export type WebhookStore = ReturnType<typeof createWebhookStore>;
