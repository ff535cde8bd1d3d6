import type { Redis } from 'ioredis';
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

// Shared Lua helpers: K is the key prefix of incidents; meta of a pending notification is
// "<incident id or ''>\t<signature id>\t<transition id>".
const HELPERS = `
local function splitMeta(pm)
  local inc, sig, tid = string.match(pm, '^([^\\t]*)\\t([^\\t]*)\\t(.*)$')
  return inc, sig, tid
end
local function hold(K, cred, id, sig, tid)
  redis.call('HSET', K .. 'pending-meta', cred, id .. '\\t' .. sig .. '\\t' .. tid)
  redis.call('ZREM', K .. 'due', cred)
  redis.call('SADD', K .. 'held:' .. id, cred)
end
`;

// Decides once per transition: send now, defer (settle), hold for an open incident, or drop (the
// credential recovered while its notification waited). Counts the sighting and opens an incident when
// the signature crosses the threshold, atomically, so concurrent dispatchers open it once.
const ROUTE = `${HELPERS}
local P, cred, tid, kind, sig = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local K = P .. ':incidents:'
local routeKey = K .. 'route:' .. tid
local done = redis.call('GET', routeKey)
if done then return done end
local notify = ARGV[6] == '1'
local at, now = tonumber(ARGV[8]), tonumber(ARGV[16])
local dropped = false
local told = false
if kind == 'recover' or notify then
  local pm = redis.call('HGET', K .. 'pending-meta', cred)
  if pm then
    local inc = splitMeta(pm)
    -- The payload starts with '1' when the app had already been told this credential failed.
    told = string.sub(redis.call('HGET', K .. 'pending', cred) or '0', 1, 1) == '1'
    redis.call('HDEL', K .. 'pending', cred)
    redis.call('HDEL', K .. 'pending-meta', cred)
    redis.call('ZREM', K .. 'due', cred)
    if inc ~= '' then redis.call('SREM', K .. 'held:' .. inc, cred) end
    dropped = true
  end
end
local open = false
if kind == 'recover' then
  local m = redis.call('HGET', K .. 'member-of', cred)
  if m and redis.call('HGET', K .. 'inc:' .. m, 'status') == 'open' then redis.call('SADD', K .. 'recovered:' .. m, cred) end
elseif kind == 'fail' then
  local sk = K .. 'sightings:' .. sig
  local window = tonumber(ARGV[10])
  redis.call('ZADD', sk, at, cred)
  redis.call('ZREMRANGEBYSCORE', sk, '-inf', '(' .. (now - window))
  redis.call('PEXPIRE', sk, window * 2)
  local polled = redis.call('ZCOUNT', ARGV[13], now - window, '+inf')
  open = redis.call('HGET', K .. 'open', sig)
  if open then
    local ik = K .. 'inc:' .. open
    redis.call('SADD', K .. 'members:' .. open, cred)
    redis.call('SREM', K .. 'recovered:' .. open, cred)
    redis.call('HSET', K .. 'member-of', cred, open)
    local count = redis.call('SCARD', K .. 'members:' .. open)
    local last = tonumber(redis.call('HGET', ik, 'lastSeenAt') or '0')
    redis.call('HSET', ik, 'lastSeenAt', math.max(last, at), 'count', count, 'polled', math.max(polled, count))
  else
    local count = redis.call('ZCARD', sk)
    local base = math.max(polled, count)
    if count >= tonumber(ARGV[11]) and count >= tonumber(ARGV[12]) * base then
      open = 'inc_' .. redis.call('INCR', K .. 'seq')
      local ik = K .. 'inc:' .. open
      local meta = cjson.decode(ARGV[14])
      for k, v in pairs(meta) do redis.call('HSET', ik, k, tostring(v)) end
      local first = redis.call('ZRANGE', sk, 0, 0, 'WITHSCORES')
      local newest = redis.call('ZRANGE', sk, -1, -1, 'WITHSCORES')
      redis.call('HSET', ik, 'id', open, 'signatureId', sig, 'status', 'open', 'openedAt', now, 'firstSeenAt', first[2],
        'lastSeenAt', newest[2], 'count', count, 'polled', base)
      for _, m in ipairs(redis.call('ZRANGE', sk, 0, -1)) do
        redis.call('SADD', K .. 'members:' .. open, m)
        redis.call('HSET', K .. 'member-of', m, open)
        local pm = redis.call('HGET', K .. 'pending-meta', m)
        if pm then
          local pinc, psig, ptid = splitMeta(pm)
          if pinc == '' and psig == sig then hold(K, m, open, sig, ptid) end
        end
      end
      redis.call('HSET', K .. 'open', sig, open)
      redis.call('ZADD', K .. 'index', now, open)
      redis.call('SADD', K .. 'notify', open .. ':opened')
    end
  end
elseif kind == 'other' then
  open = redis.call('HGET', K .. 'open', sig)
end
local result
if notify and kind ~= 'recover' then
  if open then
    redis.call('HSET', K .. 'pending', cred, ARGV[7])
    hold(K, cred, open, sig, tid)
    result = 'held:' .. open
  elseif tonumber(ARGV[9]) > 0 then
    redis.call('HSET', K .. 'pending', cred, ARGV[7])
    redis.call('HSET', K .. 'pending-meta', cred, '\\t' .. sig .. '\\t' .. tid)
    redis.call('ZADD', K .. 'due', now + tonumber(ARGV[9]), cred)
    result = 'deferred'
  else
    result = 'send'
  end
elseif notify then
  if kind == 'recover' and dropped and not told then result = 'dropped' else result = 'send' end
else
  result = 'none'
end
redis.call('SET', routeKey, result, 'PX', ARGV[15])
return result
`;

// Hands out due notifications under a lease (a crashed sender's lease expires and they are handed out
// again; delivery is idempotent per webhook-id). A settling one whose signature has an open incident
// is held instead; one held by a still-open incident waits for its resolution.
const TAKE_DUE = `${HELPERS}
local K = ARGV[1] .. ':incidents:'
local now, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for _, cred in ipairs(redis.call('ZRANGEBYSCORE', K .. 'due', '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))) do
  local pm = redis.call('HGET', K .. 'pending-meta', cred)
  if not pm then
    redis.call('ZREM', K .. 'due', cred)
  else
    local inc, sig, tid = splitMeta(pm)
    local open = redis.call('HGET', K .. 'open', sig)
    if inc == '' and open then
      hold(K, cred, open, sig, tid)
    elseif inc ~= '' and redis.call('HGET', K .. 'inc:' .. inc, 'status') == 'open' then
      redis.call('ZREM', K .. 'due', cred)
    else
      redis.call('ZADD', K .. 'due', now + lease, cred)
      table.insert(out, cred)
      table.insert(out, tid)
      table.insert(out, redis.call('HGET', K .. 'pending', cred) or '')
    end
  end
end
return out
`;

// Forgets a notification once its deliveries are enqueued (only if it is still the same transition).
const FINISH = `${HELPERS}
local K = ARGV[1] .. ':incidents:'
local cred = ARGV[2]
local pm = redis.call('HGET', K .. 'pending-meta', cred)
if not pm then return 0 end
local inc, sig, tid = splitMeta(pm)
if tid ~= ARGV[3] then return 0 end
redis.call('HDEL', K .. 'pending', cred)
redis.call('HDEL', K .. 'pending-meta', cred)
redis.call('ZREM', K .. 'due', cred)
if inc ~= '' then redis.call('SREM', K .. 'held:' .. inc, cred) end
return 1
`;

// Resolves an open incident once: its held notifications become due at ARGV[5] (or are discarded).
const RESOLVE = `
local K = ARGV[1] .. ':incidents:'
local id, reason, now, releaseAt, discard = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6] == '1'
local ik = K .. 'inc:' .. id
if redis.call('HGET', ik, 'status') ~= 'open' then return -1 end
local sig = redis.call('HGET', ik, 'signatureId')
redis.call('HSET', ik, 'status', 'resolved', 'resolvedAt', now, 'resolution', reason,
  'recovered', redis.call('SCARD', K .. 'recovered:' .. id))
if redis.call('HGET', K .. 'open', sig) == id then redis.call('HDEL', K .. 'open', sig) end
redis.call('DEL', K .. 'sightings:' .. sig)
local held = redis.call('SMEMBERS', K .. 'held:' .. id)
for _, cred in ipairs(held) do
  if discard then
    redis.call('HDEL', K .. 'pending', cred)
    redis.call('HDEL', K .. 'pending-meta', cred)
    redis.call('ZREM', K .. 'due', cred)
  else
    redis.call('ZADD', K .. 'due', releaseAt, cred)
  end
end
redis.call('HSET', ik, discard and 'discarded' or 'released', #held)
if discard then redis.call('DEL', K .. 'held:' .. id) end
for _, m in ipairs(redis.call('SMEMBERS', K .. 'members:' .. id)) do
  if redis.call('HGET', K .. 'member-of', m) == id then redis.call('HDEL', K .. 'member-of', m) end
end
redis.call('DEL', K .. 'members:' .. id, K .. 'recovered:' .. id)
redis.call('PEXPIRE', ik, ARGV[7])
redis.call('SADD', K .. 'notify', id .. ':resolved')
return #held
`;

interface IncidentScripts {
  credwatchIncidentRoute(...args: string[]): Promise<string>;
  credwatchIncidentTakeDue(...args: string[]): Promise<string[]>;
  credwatchIncidentFinish(...args: string[]): Promise<number>;
  credwatchIncidentResolve(...args: string[]): Promise<number>;
}

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
  redis.defineCommand('credwatchIncidentRoute', { numberOfKeys: 1, lua: ROUTE });
  redis.defineCommand('credwatchIncidentTakeDue', { numberOfKeys: 1, lua: TAKE_DUE });
  redis.defineCommand('credwatchIncidentFinish', { numberOfKeys: 1, lua: FINISH });
  redis.defineCommand('credwatchIncidentResolve', { numberOfKeys: 1, lua: RESOLVE });
  const scripts = redis as unknown as IncidentScripts;
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
      polledKey: string;
      rules: IncidentRules;
    }): Promise<Route> {
      const s = input.signature;
      const meta = JSON.stringify({ signature: s.text, category: s.category, statusCode: s.statusCode ?? '', errorType: s.errorType, template: s.template, cause: input.cause });
      return (await scripts.credwatchIncidentRoute(
        slotKey,
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
        input.polledKey,
        meta,
        String(ROUTE_TTL_MS),
        String(input.nowMs),
      )) as Route;
    },

    /** Notifications due for sending, leased for `leaseMs`. */
    async takeDue(nowMs: number, leaseMs: number, limit = 200): Promise<DueNotification[]> {
      const flat = await scripts.credwatchIncidentTakeDue(slotKey, prefix, String(nowMs), String(leaseMs), String(limit));
      const out: DueNotification[] = [];
      for (let i = 0; i + 2 < flat.length; i += 3) out.push({ credentialKey: flat[i] ?? '', transitionId: flat[i + 1] ?? '', payload: flat[i + 2] ?? '' });
      return out;
    },

    /** Forgets a notification whose deliveries are enqueued. */
    async finish(credentialKey: string, transitionId: string): Promise<void> {
      await scripts.credwatchIncidentFinish(slotKey, prefix, credentialKey, transitionId);
    },

    /**
     * Resolves an open incident once. Held notifications become due at `releaseAtMs`, or are dropped
     * with `discard`. Returns how many were held, or -1 when the incident was not open.
     */
    async resolve(id: string, reason: string, nowMs: number, releaseAtMs: number, discard = false): Promise<number> {
      return scripts.credwatchIncidentResolve(slotKey, prefix, id, reason, String(nowMs), String(releaseAtMs), discard ? '1' : '0', String(RESOLVED_TTL_MS));
    },

    /** Ids of open incidents. */
    async openIds(): Promise<string[]> {
      return redis.hvals(`${K}open`);
    },

    /** Members and recovered members of an open incident, and when it opened. */
    async progress(id: string): Promise<{ members: number; recovered: number; openedAtMs: number; lastSeenAtMs: number }> {
      const [members, recovered, times] = await Promise.all([redis.scard(`${K}members:${id}`), redis.scard(`${K}recovered:${id}`), redis.hmget(`${K}inc:${id}`, 'openedAt', 'lastSeenAt')]);
      return { members, recovered, openedAtMs: Number(times[0] ?? 0), lastSeenAtMs: Number(times[1] ?? 0) };
    },

    /** One incident, or null. */
    async get(id: string): Promise<FleetIncident | null> {
      const h = await redis.hgetall(`${K}inc:${id}`);
      const open = h['status'] === 'open';
      const [held, recovered] = await Promise.all([redis.scard(`${K}held:${id}`), open ? redis.scard(`${K}recovered:${id}`) : Promise.resolve(undefined)]);
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
        incidents.push({ id, signature: (signature ?? '').slice(0, 120), category: category ?? '', held: await redis.scard(`${K}held:${id}`) });
      }
      return { open: ids.length, held: Math.max(0, waiting - due), settling: due, incidents };
    },
  };
}

/** The incident store's interface. */
export type IncidentStore = ReturnType<typeof createIncidentStore>;
