import { z } from 'zod';
import { CredwatchError } from './errors.js';
import { parseDuration } from './duration.js';
import { PROVIDER_IDS, type ProviderId } from './core/providers.js';

/** Every role a `credwatch start` process can take. */
export const ROLES = ['scheduler', 'worker', 'http'] as const;
export type Role = (typeof ROLES)[number];

/** Leaf's production API, the default of LEAF_API_URL. */
export const DEFAULT_LEAF_API_URL = 'https://api.withleaf.io';

/** How one kind of value is read: its documented default ('' when none) and the parser of the raw string. */
interface Kind<T> {
  readonly default: string;
  readonly schema: z.ZodType<T>;
}

/** One environment variable: name, documented default, one-line doc, parser. Declared once, in CONFIG_SPEC. */
export interface Variable<T> {
  readonly name: string;
  readonly default: string;
  readonly doc: string;
  /** Its value is never shown: in errors, in `credwatch config`, anywhere. */
  readonly secret: boolean;
  readonly schema: z.ZodType<T>;
}

function variable<T>(name: string, kind: Kind<T>, doc: string, options: { secret?: boolean } = {}): Variable<T> {
  return { name, default: kind.default, doc, secret: options.secret ?? false, schema: kind.schema };
}

/**
 * Wraps a parser that throws a readable message into a zod schema. Unset takes the fallback; blank does
 * too when `blankIsUnset` (URLs, ports), else blank is parsed (and refused) like any other value.
 */
function checked<T>(fallback: string, parse: (value: string) => T, blankIsUnset = false): Kind<T> {
  return {
    default: fallback,
    schema: z
      .string()
      .optional()
      .transform((raw, ctx) => {
        try {
          return parse(raw === undefined || (blankIsUnset && raw.trim() === '') ? fallback : raw);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      }),
  };
}

const duration = (fallback: string): Kind<number> => checked(fallback, parseDuration);

const integer = (fallback: number, min: number, max: number): Kind<number> =>
  checked(String(fallback), (value) => {
    const n = Number(value.trim());
    if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new Error(`expected a whole number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  });

const positiveNumber = (fallback: number, max: number): Kind<number> =>
  checked(String(fallback), (value) => {
    const n = Number(value.trim());
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max) {
      throw new Error(`expected a number above 0 and at most ${max}, got "${value}"`);
    }
    return n;
  });

const boolean = (fallback: boolean): Kind<boolean> =>
  checked(String(fallback), (value) => {
    const v = value.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new Error(`expected true or false, got "${value}"`);
  });

/** A string with no default: unset or blank is undefined. */
const optionalString: Kind<string | undefined> = {
  default: '',
  schema: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v)),
};

const text = (fallback: string, check?: (value: string) => string | undefined): Kind<string> =>
  checked(fallback, (value) => {
    const problem = check?.(value);
    if (problem !== undefined) throw new Error(problem);
    return value;
  });

const oneOf = <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]): Kind<T[number]> =>
  checked(fallback, (value) => {
    const v = value.trim();
    if (!(values as readonly string[]).includes(v)) throw new Error(`expected one of ${values.join(', ')}, got "${value}"`);
    return v as T[number];
  });

function parseHttpUrl(value: string): string {
  try {
    const parsed = new URL(value);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return value.replace(/\/+$/, '');
  } catch {
    // reported below
  }
  throw new Error(`expected an http(s) URL, got "${value}"`);
}

const url = (fallback: string): Kind<string> => checked(fallback, parseHttpUrl, true);

/** An optional variable: empty or unset is undefined, anything else must pass `parse`. */
function optional<T>(parse: (value: string) => T): Kind<T | undefined> {
  return {
    default: '',
    schema: z
      .string()
      .optional()
      .transform((raw, ctx) => {
        if (raw === undefined || raw.trim() === '') return undefined;
        try {
          return parse(raw);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      }),
  };
}

const optionalUrl: Kind<string | undefined> = optional(parseHttpUrl);

function parsePort(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`expected a TCP port from 0 to 65535, got "${value}"`);
  return n;
}

const port = (fallback: number): Kind<number> => checked(String(fallback), parsePort, true);

const optionalPort: Kind<number | undefined> = optional(parsePort);

const providerList = (fallback: string): Kind<ProviderId[]> =>
  checked(fallback, (value) => {
    const ids = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = ids.filter((id) => !(PROVIDER_IDS as readonly string[]).includes(id));
    if (ids.length === 0 || unknown.length > 0) {
      throw new Error(`unknown provider(s) ${unknown.join(', ') || '(none given)'}; expected some of ${PROVIDER_IDS.join(', ')}`);
    }
    return [...new Set(ids)] as ProviderId[];
  });

const redisUrl = (fallback: string): Kind<string> =>
  text(fallback, (v) =>
    /^rediss?:\/\//.test(v) || parseClusterUrl(v) !== undefined
      ? undefined
      : 'expected a redis://, rediss:// or redis+cluster://host:port[,host:port...] URL',
  );

/**
 * The whole configuration: every environment variable is declared once here, with its default and a
 * one-line doc. The Config type, loadConfig, `credwatch config` and the README's table derive from it.
 */
export const CONFIG_SPEC = {
  leaf: {
    apiUrl: variable('LEAF_API_URL', url(DEFAULT_LEAF_API_URL), 'Base URL of Leaf (point it at `credwatch sim` for a demo).'),
    username: variable('LEAF_USERNAME', optionalString, 'Leaf account user name (with LEAF_PASSWORD), used to obtain a token.'),
    password: variable('LEAF_PASSWORD', optionalString, 'Leaf account password. Never logged.', { secret: true }),
    token: variable('LEAF_TOKEN', optionalString, 'A static Leaf bearer token, instead of username/password.', { secret: true }),
    requestTimeoutMs: variable('LEAF_REQUEST_TIMEOUT', duration('10s'), 'Timeout of one request to Leaf.'),
    maxRetries: variable('LEAF_MAX_RETRIES', integer(2, 0, 10), 'Retries inside the Leaf client for 5xx, network errors and timeouts.'),
    alertsSecret: variable(
      'LEAF_ALERTS_SECRET',
      optionalString,
      'Secret shared with Leaf to verify `X-Leaf-Signature` on `POST /leaf/alerts`; intake is off without it.',
      { secret: true },
    ),
  },
  redis: {
    url: variable(
      'REDIS_URL',
      redisUrl('redis://127.0.0.1:6379'),
      'Redis holding queues and credential state (must run with `maxmemory-policy noeviction`); `redis+cluster://host:port,host:port` for Redis Cluster.',
    ),
    prefix: variable(
      'CREDWATCH_PREFIX',
      text('credwatch', (v) =>
        v.length > 0 && v.length <= 64 && !/\s/.test(v) ? undefined : 'expected 1 to 64 characters without spaces',
      ),
      'Prefix of every Redis key; use a hash tag such as `{credwatch}` on Redis Cluster.',
    ),
  },
  monitor: {
    providers: variable(
      'CREDWATCH_PROVIDERS',
      providerList('panorama'),
      'Comma-separated provider ids to watch (listed under "Providers" in README.md).',
    ),
    pollIntervalMs: variable(
      'CREDWATCH_POLL_INTERVAL',
      duration('15m'),
      'How often Leaf users are listed and each healthy credential is polled (when the budget allows: see `credwatch_poll_capacity_seconds`).',
    ),
    failingRecheckMs: variable(
      'CREDWATCH_FAILING_RECHECK_INTERVAL',
      duration('5m'),
      'How soon a credential found failing is polled again, to see its recovery; backs off to CREDWATCH_POLL_INTERVAL as the failure lasts.',
    ),
    credentialMaxAgeMs: variable(
      'CREDWATCH_CREDENTIAL_MAX_AGE',
      duration('24h'),
      "Longest a poll trusts its cached copy of Leaf's credential object (id, status, environment) before fetching it again.",
    ),
    pollConcurrency: variable('CREDWATCH_POLL_CONCURRENCY', integer(8, 1, 1000), 'Poll jobs one worker process runs at once.'),
    leafRps: variable('CREDWATCH_LEAF_RPS', positiveNumber(10, 10_000), 'Requests per second to Leaf, shared by every worker process.'),
    rulesFile: variable(
      'CREDWATCH_RULES_FILE',
      optionalString,
      'JSON or YAML file of extra classifier rules, checked before the built-in ones.',
    ),
    rulesWatchIntervalMs: variable(
      'CREDWATCH_RULES_WATCH_INTERVAL',
      duration('2s'),
      'How often the rules file is checked for changes (it is also reloaded on SIGHUP).',
    ),
    unclassifiedMaxSignatures: variable(
      'CREDWATCH_UNCLASSIFIED_MAX_SIGNATURES',
      integer(500, 10, 100_000),
      'Most signatures the unclassified inbox keeps (least recently seen dropped first).',
    ),
    providerUnavailableAfterMs: variable(
      'CREDWATCH_PROVIDER_UNAVAILABLE_AFTER',
      duration('6h'),
      'How long `provider_unavailable` may last before it is alerted on.',
    ),
    flapCooldownMs: variable(
      'CREDWATCH_FLAP_COOLDOWN',
      duration('1h'),
      'A category that flaps back within this time sends no new webhook.',
    ),
    notifyUnclassified: variable(
      'CREDWATCH_NOTIFY_UNCLASSIFIED',
      boolean(false),
      'Send `credential.action_required` for `unclassified` too.',
    ),
    historyLimit: variable('CREDWATCH_HISTORY_LIMIT', integer(50, 1, 10_000), 'Transitions kept per credential.'),
    jobLockDurationMs: variable(
      'CREDWATCH_JOB_LOCK_DURATION',
      duration('30s'),
      "Lock of a running job; a crashed worker's job is picked up again after about this long.",
    ),
    shutdownTimeoutMs: variable('CREDWATCH_SHUTDOWN_TIMEOUT', duration('10s'), 'How long SIGTERM waits for in-flight jobs before closing.'),
  },
  http: {
    port: variable('CREDWATCH_PORT', port(8080), 'HTTP port: health, read API, status page, Leaf alert intake, metrics.'),
    host: variable('CREDWATCH_HOST', text('0.0.0.0'), 'Address the HTTP server binds.'),
    metricsPort: variable('CREDWATCH_METRICS_PORT', optionalPort, 'Serve `/metrics` on this port instead of CREDWATCH_PORT.'),
    adminToken: variable(
      'CREDWATCH_ADMIN_TOKEN',
      optionalString,
      'Bearer token for `/api/*` and the status page; the API is off without it.',
      {
        secret: true,
      },
    ),
  },
  webhooks: {
    file: variable('CREDWATCH_WEBHOOKS_FILE', optionalString, 'JSON or YAML list of webhook endpoints (name, url, secret, filters).'),
    url: variable('CREDWATCH_WEBHOOK_URL', optionalUrl, 'A single webhook endpoint URL (with CREDWATCH_WEBHOOK_SECRET).'),
    secret: variable('CREDWATCH_WEBHOOK_SECRET', optionalString, 'Its signing secret, `whsec_<base64>`.', { secret: true }),
    timeoutMs: variable('CREDWATCH_WEBHOOK_TIMEOUT', duration('15s'), 'A delivery not answered 2xx within this time is retried.'),
    concurrency: variable('CREDWATCH_WEBHOOK_CONCURRENCY', integer(4, 1, 1000), 'Deliveries in flight per endpoint in one process.'),
    includeEmail: variable(
      'CREDWATCH_WEBHOOK_INCLUDE_EMAIL',
      boolean(true),
      "Include the grower's email (from Leaf) in webhook payloads; `false` leaves it out (externalId and name stay).",
    ),
  },
  /** Endpoint circuit, catch-up pace, replay record and delivery log bounds (docs/webhooks.md). */
  webhookHealth: {
    failureThreshold: variable(
      'CREDWATCH_WEBHOOK_FAILURE_THRESHOLD',
      integer(5, 1, 1000),
      'Failed attempts in a row that mark a webhook endpoint failing (one probe at a time, the rest wait).',
    ),
    probeIntervalMs: variable(
      'CREDWATCH_WEBHOOK_PROBE_INTERVAL',
      duration('5s'),
      'Longest delay between two probes of a failing endpoint (the retry schedule, capped).',
    ),
    ratePerSecond: variable(
      'CREDWATCH_WEBHOOK_RATE',
      integer(50, 0, 100_000),
      'Deliveries started per second per endpoint over every process (paces the catch-up); 0 = no limit.',
    ),
    replayMax: variable('CREDWATCH_WEBHOOK_REPLAY_MAX', integer(10_000, 0, 1_000_000), 'Notifications kept per endpoint for replay.'),
    replayRetentionMs: variable('CREDWATCH_WEBHOOK_REPLAY_RETENTION', duration('7d'), 'How long notifications are kept for replay.'),
    logSize: variable('CREDWATCH_WEBHOOK_LOG_SIZE', integer(1000, 1, 100_000), 'Delivery attempts kept per endpoint in the delivery log.'),
  },
  /** Fleet incidents (docs/webhooks.md, "Fleet incidents"). */
  incidents: {
    enabled: variable(
      'CREDWATCH_INCIDENTS',
      boolean(true),
      'Fleet incidents: group failures by signature, hold re-auth webhooks of a shared cause, send `incident.*` webhooks (docs/webhooks.md).',
    ),
    minCredentials: variable(
      'CREDWATCH_INCIDENT_MIN_CREDENTIALS',
      integer(20, 1, 10_000_000),
      'An incident opens when at least this many credentials fail with one signature within the window…',
    ),
    minShare: variable(
      'CREDWATCH_INCIDENT_MIN_SHARE',
      positiveNumber(0.1, 1),
      '…and they are at least this share (0–1) of the credentials polled within the window.',
    ),
    windowMs: variable('CREDWATCH_INCIDENT_WINDOW', duration('10m'), 'The detection window of a signature.'),
    settleMs: variable(
      'CREDWATCH_INCIDENT_SETTLE',
      duration('30s'),
      'Every `credential.action_required` waits this long (durably) so the first failures of a storm are held too; `0s` sends at once.',
    ),
    holdLimitMs: variable(
      'CREDWATCH_INCIDENT_HOLD_LIMIT',
      duration('2h'),
      'An incident open this long resolves and releases its held notifications.',
    ),
    recoveredShare: variable(
      'CREDWATCH_INCIDENT_RECOVERED_SHARE',
      positiveNumber(0.8, 1),
      'An incident resolves as recovered when this share (0–1) of its credentials recovered.',
    ),
    releaseDelayMs: variable(
      'CREDWATCH_INCIDENT_RELEASE_DELAY',
      duration('15m'),
      'After a recovery, held notifications of credentials not yet recovered wait this long before they are sent.',
    ),
    checkIntervalMs: variable(
      'CREDWATCH_INCIDENT_CHECK_INTERVAL',
      duration('5s'),
      'How often due notifications and incident resolution are checked (at least 100ms).',
    ),
  },
  log: {
    level: variable(
      'LOG_LEVEL',
      oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], 'info'),
      'pino level: trace, debug, info, warn, error, fatal, silent.',
    ),
    format: variable(
      'LOG_FORMAT',
      oneOf(['auto', 'json', 'pretty'], 'auto'),
      '`json`, `pretty`, or `auto` (pretty when stdout is a terminal).',
    ),
  },
};

/** A section of CONFIG_SPEC: variables by their Config field name. */
type Section = Record<string, Variable<unknown>>;

/** The values a section's variables parse to. */
type ValuesOf<S extends Section> = { [K in keyof S]: S[K] extends Variable<infer T> ? T : never };

/** The typed configuration every part of credwatch receives from the composition root. */
export type Config = { [K in keyof typeof CONFIG_SPEC]: ValuesOf<(typeof CONFIG_SPEC)[K]> } & {
  /** Set when REDIS_URL is a redis+cluster:// URL: the daemon then uses ioredis Cluster. */
  redis: { cluster: RedisClusterConfig | undefined };
};

/** Every variable in declaration order, for docs, `credwatch config` and the README table. */
export const CONFIG_VARIABLES: ReadonlyArray<Variable<unknown>> = Object.values(CONFIG_SPEC).flatMap((section) =>
  Object.values(section as Section),
);

/** Name, documented default and doc of every variable (the README's configuration table). */
export const CONFIG_DOCS: ReadonlyArray<{ name: string; default: string; doc: string }> = CONFIG_VARIABLES.map((v) => ({
  name: v.name,
  default: v.default,
  doc: v.doc,
}));

/** The README's configuration table, rendered from CONFIG_SPEC (`credwatch config --markdown`). */
export function renderConfigTable(): string {
  const rows = CONFIG_VARIABLES.map((v) => `| \`${v.name}\` | ${v.default === '' ? '—' : `\`${v.default}\``} | ${v.doc} |`);
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** Seed nodes and credentials of a Redis Cluster, from `redis+cluster://[user:pass@]host:port,host:port`. */
export interface RedisClusterConfig {
  nodes: Array<{ host: string; port: number }>;
  username: string | undefined;
  password: string | undefined;
}

/** Parses a `redis+cluster://` URL (ioredis needs seed nodes, not one URL); undefined when it is not one. */
export function parseClusterUrl(value: string): RedisClusterConfig | undefined {
  const match = /^redis\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@?#]+)\/?$/.exec(value.trim());
  if (!match) return undefined;
  const nodes: Array<{ host: string; port: number }> = [];
  for (const part of (match[3] ?? '').split(',')) {
    const node = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(part.trim());
    const port = Number(node?.[2]);
    if (!node?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
    nodes.push({ host: node[1], port });
  }
  const decode = (v: string | undefined) => (v === undefined || v === '' ? undefined : decodeURIComponent(v));
  return { nodes, username: decode(match[1]), password: decode(match[2]) };
}

/** Thrown by loadConfig with one line per bad variable. */
export class ConfigError extends CredwatchError {
  constructor(readonly problems: string[]) {
    super('CONFIG_INVALID', `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Checks between variables that only make sense together; one line per problem. */
function crossChecks(c: Config): string[] {
  const problems: string[] = [];
  if ((c.leaf.username === undefined) !== (c.leaf.password === undefined)) {
    problems.push('LEAF_USERNAME / LEAF_PASSWORD: set both, or neither (use LEAF_TOKEN for a static token)');
  }
  if (c.webhooks.url !== undefined && c.webhooks.secret === undefined) {
    problems.push('CREDWATCH_WEBHOOK_SECRET: required when CREDWATCH_WEBHOOK_URL is set (format whsec_<base64>)');
  }
  if (c.webhooks.secret !== undefined && !/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(c.webhooks.secret)) {
    problems.push('CREDWATCH_WEBHOOK_SECRET: expected whsec_ followed by base64');
  }
  if (c.monitor.jobLockDurationMs < 1000) problems.push('CREDWATCH_JOB_LOCK_DURATION: expected at least 1s');
  if (c.redis.cluster !== undefined && !/\{[^{}]+\}/.test(c.redis.prefix)) {
    // BullMQ's scripts and the credential store touch many keys at once: one hash slot is required.
    problems.push('CREDWATCH_PREFIX: on Redis Cluster the prefix needs a hash tag, such as {credwatch}');
  }
  if (c.monitor.pollIntervalMs < 1000) problems.push('CREDWATCH_POLL_INTERVAL: expected at least 1s');
  if (c.monitor.failingRecheckMs < 1000) problems.push('CREDWATCH_FAILING_RECHECK_INTERVAL: expected at least 1s');
  return problems;
}

/**
 * Parses the environment into a Config. Throws ConfigError naming every bad variable at once, so an
 * operator fixes them in one round. Variables not declared in CONFIG_SPEC are never read.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const config: Record<string, Record<string, unknown>> = {};
  for (const [sectionName, section] of Object.entries(CONFIG_SPEC)) {
    const values: Record<string, unknown> = {};
    for (const [field, v] of Object.entries(section as Section)) {
      const parsed = v.schema.safeParse(env[v.name]);
      if (parsed.success) {
        values[field] = parsed.data;
        continue;
      }
      // Never echo a secret's value back in an error (parsers quote the value they refuse).
      for (const issue of parsed.error.issues) problems.push(`${v.name}: ${v.secret ? 'invalid value (not shown)' : issue.message}`);
    }
    config[sectionName] = values;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const typed = config as unknown as Config;
  typed.redis.cluster = parseClusterUrl(typed.redis.url);
  const cross = crossChecks(typed);
  if (cross.length > 0) throw new ConfigError(cross);
  return typed;
}

/** One line per variable: its name and value, secrets shown only as set or unset (`credwatch config`). */
export function describeConfig(env: Record<string, string | undefined>): string[] {
  return CONFIG_VARIABLES.map((v) => {
    const raw = env[v.name];
    const set = raw !== undefined && raw !== '';
    const shown = !set
      ? v.default === ''
        ? '(unset)'
        : `${v.default} (default)`
      : v.secret
        ? '(set, not shown)'
        : v.name === 'REDIS_URL'
          ? redactUserinfo(raw)
          : raw;
    return `${v.name}=${shown}`;
  });
}

function redactUserinfo(value: string): string {
  return value.replace(/\/\/([^@/]*)@/, '//***@');
}
