import type { Redis } from 'ioredis';
import { loadLuaScript } from '../core/lua-script.js';
import type { Category } from '../classify/categories.js';
import type { FailureSignature } from './failure-signature.js';

/** How the dispatcher handles one transition, as recorded once per transition. */
export type Route = 'send' | 'none' | 'deferred' | 'dropped' | `held:${string}`;

/** A fleet incident as the API and the incident webhooks show it. */
export interface FleetIncident {
  id: string;
  status: 'open' | 'resolved';
  signatureId: string;
  signature: string;
  category: Category;
  statusCode: number | null;
  errorType: string;
  messageTemplate: string;
  likelyCause: string;
  /** Credentials seen failing with the signature (within the window at opening, every one since). */
  count: number;
  /** count / credentials polled within the window (at the latest sighting), 0..1. */
  share: number;
  firstSeenAt: string;
  lastSeenAt: string;
  openedAt: string;
  resolvedAt: string | null;
  /** recovered | hold_limit | released | discarded (null while open). */
  resolution: string | null;
  /** Members that recovered (while open; frozen at resolution). */
  recovered: number;
  /** Notifications held for it now (released ones excluded). */
  held: number;
}

/** A notification waiting (settling or held), handed back for sending when due. */
export interface DueNotification {
  credentialKey: string;
  transitionId: string;
  /** JSON the dispatcher stored: transition and decision. */
  payload: string;
}

/** What the metrics show: counts, and each open incident (at most 50) with its signature. */
export interface IncidentGauges {
  open: number;
  held: number;
  settling: number;
  incidents: Array<{ id: string; signature: string; category: string; held: number }>;
}

/** Detection and hold settings (configuration, see README). */
export interface IncidentRules {
  windowMs: number;
  minCredentials: number;
  minShare: number;
  settleMs: number;
}

const ROUTE_TTL_MS = 7 * 24 * 3_600_000;
const RESOLVED_TTL_MS = 30 * 24 * 3_600_000;

// The incident scripts build every key from the prefix (ARGV[1]); the one declared key routes them to the
// prefix's slot on Redis Cluster.
const HELPERS = new URL('./scripts/incident-helpers.lua', import.meta.url);
/** Routes one transition once: send, defer, hold or drop (scripts/route.lua). */
const ROUTE = loadLuaScript(new URL('./scripts/route.lua', import.meta.url), { include: [HELPERS] });
/** Hands out due notifications under a lease (scripts/take-due.lua). */
const TAKE_DUE = loadLuaScript(new URL('./scripts/take-due.lua', import.meta.url), { include: [HELPERS] });
/** Forgets a notification once its deliveries are enqueued (scripts/finish.lua). */
const FINISH = loadLuaScript(new URL('./scripts/finish.lua', import.meta.url), { include: [HELPERS] });
/** Resolves an open incident once (scripts/resolve.lua). */
const RESOLVE = loadLuaScript(new URL('./scripts/resolve.lua', import.meta.url));

function iso(ms: string | undefined): string {
  return ms === undefined || ms === '' ? '' : new Date(Number(ms)).toISOString();
}

/**
 * Every Redis key of fleet incidents (`{prefix}:incidents:*`): sightings per signature, incidents,
 * their members, and notifications waiting (settling or held) with their due times. Scripts build keys
 * from the prefix, like the credential store: a hash-tagged prefix keeps them in one Cluster slot.
 */
export function createIncidentStore(redis: Redis, prefix: string) {
  const K = `${prefix}:incidents:`;
  // Scripts build their keys from the prefix; this one declared key routes them to the prefix's slot on
  // Redis Cluster (where a hash-tagged prefix keeps every key in that slot).
  const slotKey = `${K}open`;

  async function toIncident(h: Record<string, string>, held: number, recoveredNow: number | undefined): Promise<FleetIncident | null> {
    if (h['id'] === undefined) return null;
    const count = Number(h['count'] ?? 0);
    const polled = Number(h['polled'] ?? 0);
    return {
      id: h['id'],
      status: h['status'] === 'open' ? 'open' : 'resolved',
      signatureId: h['signatureId'] ?? '',
      signature: h['signature'] ?? '',
      category: (h['category'] ?? 'unclassified') as Category,
      statusCode: h['statusCode'] ? Number(h['statusCode']) : null,
      errorType: h['errorType'] ?? '',
      messageTemplate: h['template'] ?? '',
      likelyCause: h['cause'] ?? '',
      count,
      share: polled > 0 ? Math.round((count / polled) * 1000) / 1000 : 1,
      firstSeenAt: iso(h['firstSeenAt']),
      lastSeenAt: iso(h['lastSeenAt']),
      openedAt: iso(h['openedAt']),
      resolvedAt: h['resolvedAt'] ? iso(h['resolvedAt']) : null,
      resolution: h['resolution'] ?? null,
      recovered: recoveredNow ?? Number(h['recovered'] ?? 0),
      held,
    };
  }

  return {
    /** Records the route of one transition (idempotent: a repeated call returns the first answer). */
    async route(input: {
      credentialKey: string;
      transitionId: string;
      /** 'other': a failure that is no sighting (first sighting, not_connected), held only by an open incident. */
      kind: 'fail' | 'recover' | 'other';
      signature: FailureSignature;
      cause: string;
      notify: boolean;
      /** Stored with the notification: '1' + JSON when the app already knew the credential failed. */
      payload: string;
      atMs: number;
      nowMs: number;
      /** The provider's poll-age histogram (poll-ages.ts): how many credentials were polled within the window. */
      pollAgesKey: string;
      rules: IncidentRules;
    }): Promise<Route> {
      const s = input.signature;
      const meta = JSON.stringify({
        signature: s.text,
        category: s.category,
        statusCode: s.statusCode ?? '',
        errorType: s.errorType,
        template: s.template,
        cause: input.cause,
      });
      return (await ROUTE.run(
        redis,
        [slotKey],
        [
          prefix,
          input.credentialKey,
          input.transitionId,
          input.kind,
          s.id,
          input.notify ? '1' : '0',
          input.payload,
          String(input.atMs),
          String(input.rules.settleMs),
          String(input.rules.windowMs),
          String(input.rules.minCredentials),
          String(input.rules.minShare),
          input.pollAgesKey,
          meta,
          String(ROUTE_TTL_MS),
          String(input.nowMs),
        ],
      )) as Route;
    },

    /** Notifications due for sending, leased for `leaseMs`. */
    async takeDue(nowMs: number, leaseMs: number, limit = 200): Promise<DueNotification[]> {
      const flat = (await TAKE_DUE.run(redis, [slotKey], [prefix, String(nowMs), String(leaseMs), String(limit)])) as string[];
      const out: DueNotification[] = [];
      for (let i = 0; i + 2 < flat.length; i += 3)
        out.push({ credentialKey: flat[i] ?? '', transitionId: flat[i + 1] ?? '', payload: flat[i + 2] ?? '' });
      return out;
    },

    /** Forgets a notification whose deliveries are enqueued. */
    async finish(credentialKey: string, transitionId: string): Promise<void> {
      await FINISH.run(redis, [slotKey], [prefix, credentialKey, transitionId]);
    },

    /**
     * Resolves an open incident once. Held notifications become due at `releaseAtMs`, or are dropped
     * with `discard`. Returns how many were held, or -1 when the incident was not open.
     */
    async resolve(id: string, reason: string, nowMs: number, releaseAtMs: number, discard = false): Promise<number> {
      return Number(
        await RESOLVE.run(
          redis,
          [slotKey],
          [prefix, id, reason, String(nowMs), String(releaseAtMs), discard ? '1' : '0', String(RESOLVED_TTL_MS)],
        ),
      );
    },

    /** Ids of open incidents. */
    async openIds(): Promise<string[]> {
      return redis.hvals(`${K}open`);
    },

    /** Members and recovered members of an open incident, and when it opened. */
    async progress(id: string): Promise<{ members: number; recovered: number; openedAtMs: number; lastSeenAtMs: number }> {
      const [members, recovered, times] = await Promise.all([
        redis.scard(`${K}members:${id}`),
        redis.scard(`${K}recovered:${id}`),
        redis.hmget(`${K}inc:${id}`, 'openedAt', 'lastSeenAt'),
      ]);
      return { members, recovered, openedAtMs: Number(times[0] ?? 0), lastSeenAtMs: Number(times[1] ?? 0) };
    },

    /** One incident, or null. */
    async get(id: string): Promise<FleetIncident | null> {
      const h = await redis.hgetall(`${K}inc:${id}`);
      const open = h['status'] === 'open';
      const [held, recovered] = await Promise.all([
        redis.scard(`${K}held:${id}`),
        open ? redis.scard(`${K}recovered:${id}`) : Promise.resolve(undefined),
      ]);
      return toIncident(h, held, recovered);
    },

    /** Incidents, newest first (resolved ones kept 30 days). */
    async list(limit = 100): Promise<FleetIncident[]> {
      const ids = await redis.zrevrange(`${K}index`, 0, limit - 1);
      const out: FleetIncident[] = [];
      for (const id of ids) {
        const incident = await this.get(id);
        if (incident === null) await redis.zrem(`${K}index`, id);
        else out.push(incident);
      }
      return out;
    },

    /** Incident webhooks not yet enqueued (`<id>:opened` / `<id>:resolved`). */
    async pendingIncidentEvents(): Promise<string[]> {
      return redis.smembers(`${K}notify`);
    },

    /** Marks an incident webhook enqueued. */
    async incidentEventDone(event: string): Promise<void> {
      await redis.srem(`${K}notify`, event);
    },

    /** Open incidents and notifications waiting, for the metrics. */
    async gauges(): Promise<IncidentGauges> {
      const [ids, waiting, due] = await Promise.all([redis.hvals(`${K}open`), redis.hlen(`${K}pending-meta`), redis.zcard(`${K}due`)]);
      const incidents: IncidentGauges['incidents'] = [];
      for (const id of ids.slice(0, 50)) {
        const [signature, category] = await redis.hmget(`${K}inc:${id}`, 'signature', 'category');
        incidents.push({
          id,
          signature: (signature ?? '').slice(0, 120),
          category: category ?? '',
          held: await redis.scard(`${K}held:${id}`),
        });
      }
      return { open: ids.length, held: Math.max(0, waiting - due), settling: due, incidents };
    },
  };
}

/** The incident store's interface. */
export type IncidentStore = ReturnType<typeof createIncidentStore>;
