import { z } from 'zod';
import { CredwatchError } from './errors.js';
import { parseDuration } from './duration.js';
import { PROVIDER_IDS, type ProviderId } from './leaf/providers.js';

/** Every role a `credwatch start` process can take. */
export const ROLES = ['scheduler', 'worker', 'http'] as const;
export type Role = (typeof ROLES)[number];

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      try {
        return parseDuration(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });

const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((value, ctx) => {
      const n = Number(value.trim());
      if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected a whole number from ${min} to ${max}, got "${value}"` });
        return z.NEVER;
      }
      return n;
    });

const positiveNumber = (fallback: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((value, ctx) => {
      const n = Number(value.trim());
      if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected a number above 0 and at most ${max}, got "${value}"` });
        return z.NEVER;
      }
      return n;
    });

const boolean = (fallback: boolean) =>
  z
    .string()
    .default(String(fallback))
    .transform((value, ctx) => {
      const v = value.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      ctx.addIssue({ code: 'custom', message: `expected true or false, got "${value}"` });
      return z.NEVER;
    });

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

const url = (fallback?: string) =>
  (fallback === undefined ? z.string().optional() : z.string().default(fallback)).transform((value, ctx) => {
    if (value === undefined || value.trim() === '') return undefined;
    try {
      const parsed = new URL(value);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
      return value.replace(/\/+$/, '');
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected an http(s) URL, got "${value}"` });
      return z.NEVER;
    }
  });

const port = (fallback?: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') return fallback;
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0 || n > 65535) {
        ctx.addIssue({ code: 'custom', message: `expected a TCP port from 0 to 65535, got "${value}"` });
        return z.NEVER;
      }
      return n;
    });

/**
 * The whole configuration, read from environment variables. Each entry: variable name, its default and
 * a one-line description (also rendered in the README's configuration table by `credwatch config --help`).
 */
export const CONFIG_DOCS: ReadonlyArray<{ name: string; default: string; doc: string }> = [
  { name: 'LEAF_API_URL', default: 'https://api.withleaf.io', doc: 'Base URL of Leaf (point it at `credwatch sim` for a demo).' },
  { name: 'LEAF_USERNAME', default: '', doc: 'Leaf account user name (with LEAF_PASSWORD), used to obtain a token.' },
  { name: 'LEAF_PASSWORD', default: '', doc: 'Leaf account password. Never logged.' },
  { name: 'LEAF_TOKEN', default: '', doc: 'A static Leaf bearer token, instead of username/password.' },
  { name: 'LEAF_REQUEST_TIMEOUT', default: '10s', doc: 'Timeout of one request to Leaf.' },
  { name: 'LEAF_MAX_RETRIES', default: '2', doc: 'Retries inside the Leaf client for 5xx, network errors and timeouts.' },
  { name: 'LEAF_ALERTS_SECRET', default: '', doc: 'Secret shared with Leaf to verify `X-Leaf-Signature` on `POST /leaf/alerts`; intake is off without it.' },
  { name: 'REDIS_URL', default: 'redis://127.0.0.1:6379', doc: 'Redis holding queues and credential state (must run with `maxmemory-policy noeviction`); `redis+cluster://host:port,host:port` for Redis Cluster.' },
  { name: 'CREDWATCH_PREFIX', default: 'credwatch', doc: 'Prefix of every Redis key; use a hash tag such as `{credwatch}` on Redis Cluster.' },
  { name: 'CREDWATCH_PROVIDERS', default: 'panorama', doc: 'Comma-separated provider ids to watch (listed under "Providers" in README.md).' },
  { name: 'CREDWATCH_POLL_INTERVAL', default: '15m', doc: 'How often every user is swept and polled.' },
  { name: 'CREDWATCH_POLL_CONCURRENCY', default: '8', doc: 'Poll jobs one worker process runs at once.' },
  { name: 'CREDWATCH_LEAF_RPS', default: '10', doc: 'Requests per second to Leaf, shared by every worker process.' },
  { name: 'CREDWATCH_RULES_FILE', default: '', doc: 'JSON or YAML file of extra classifier rules, checked before the built-in ones.' },
  { name: 'CREDWATCH_RULES_WATCH_INTERVAL', default: '2s', doc: 'How often the rules file is checked for changes (it is also reloaded on SIGHUP).' },
  { name: 'CREDWATCH_UNCLASSIFIED_MAX_SIGNATURES', default: '500', doc: 'Most signatures the unclassified inbox keeps (least recently seen dropped first).' },
  { name: 'CREDWATCH_PROVIDER_UNAVAILABLE_AFTER', default: '6h', doc: 'How long `provider_unavailable` may last before it is alerted on.' },
  { name: 'CREDWATCH_FLAP_COOLDOWN', default: '1h', doc: 'A category that flaps back within this time sends no new webhook.' },
  { name: 'CREDWATCH_NOTIFY_UNCLASSIFIED', default: 'false', doc: 'Send `credential.action_required` for `unclassified` too.' },
  { name: 'CREDWATCH_HISTORY_LIMIT', default: '50', doc: 'Transitions kept per credential.' },
  { name: 'CREDWATCH_PORT', default: '8080', doc: 'HTTP port: health, read API, status page, Leaf alert intake, metrics.' },
  { name: 'CREDWATCH_HOST', default: '0.0.0.0', doc: 'Address the HTTP server binds.' },
  { name: 'CREDWATCH_METRICS_PORT', default: '', doc: 'Serve `/metrics` on this port instead of CREDWATCH_PORT.' },
  { name: 'CREDWATCH_ADMIN_TOKEN', default: '', doc: 'Bearer token for `/api/*` and the status page; the API is off without it.' },
  { name: 'CREDWATCH_WEBHOOKS_FILE', default: '', doc: 'JSON or YAML list of webhook endpoints (name, url, secret, filters).' },
  { name: 'CREDWATCH_WEBHOOK_URL', default: '', doc: 'A single webhook endpoint URL (with CREDWATCH_WEBHOOK_SECRET).' },
  { name: 'CREDWATCH_WEBHOOK_SECRET', default: '', doc: 'Its signing secret, `whsec_<base64>`.' },
  { name: 'CREDWATCH_WEBHOOK_TIMEOUT', default: '15s', doc: 'A delivery not answered 2xx within this time is retried.' },
  { name: 'CREDWATCH_JOB_LOCK_DURATION', default: '30s', doc: 'Lock of a running job; a crashed worker\'s job is picked up again after about this long.' },
  { name: 'CREDWATCH_SHUTDOWN_TIMEOUT', default: '10s', doc: 'How long SIGTERM waits for in-flight jobs before closing.' },
  { name: 'LOG_LEVEL', default: 'info', doc: 'pino level: trace, debug, info, warn, error, fatal, silent.' },
  { name: 'LOG_FORMAT', default: 'auto', doc: '`json`, `pretty`, or `auto` (pretty when stdout is a terminal).' },
];

const schema = z.object({
  LEAF_API_URL: url('https://api.withleaf.io'),
  LEAF_USERNAME: optionalString,
  LEAF_PASSWORD: optionalString,
  LEAF_TOKEN: optionalString,
  LEAF_REQUEST_TIMEOUT: duration('10s'),
  LEAF_MAX_RETRIES: integer(2, 0, 10),
  LEAF_ALERTS_SECRET: optionalString,
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .refine((v) => /^rediss?:\/\//.test(v) || parseClusterUrl(v) !== undefined, {
      message: 'expected a redis://, rediss:// or redis+cluster://host:port[,host:port...] URL',
    }),
  CREDWATCH_PREFIX: z
    .string()
    .default('credwatch')
    .refine((v) => v.length > 0 && v.length <= 64 && !/\s/.test(v), {
      message: 'expected 1 to 64 characters without spaces',
    }),
  CREDWATCH_PROVIDERS: z
    .string()
    .default('panorama')
    .transform((value, ctx) => {
      const ids = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = ids.filter((id) => !(PROVIDER_IDS as readonly string[]).includes(id));
      if (ids.length === 0 || unknown.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown provider(s) ${unknown.join(', ') || '(none given)'}; expected some of ${PROVIDER_IDS.join(', ')}`,
        });
        return z.NEVER;
      }
      return [...new Set(ids)] as ProviderId[];
    }),
  CREDWATCH_POLL_INTERVAL: duration('15m'),
  CREDWATCH_POLL_CONCURRENCY: integer(8, 1, 1000),
  CREDWATCH_LEAF_RPS: positiveNumber(10, 10_000),
  CREDWATCH_RULES_FILE: optionalString,
  CREDWATCH_RULES_WATCH_INTERVAL: duration('2s'),
  CREDWATCH_UNCLASSIFIED_MAX_SIGNATURES: integer(500, 10, 100_000),
  CREDWATCH_PROVIDER_UNAVAILABLE_AFTER: duration('6h'),
  CREDWATCH_FLAP_COOLDOWN: duration('1h'),
  CREDWATCH_NOTIFY_UNCLASSIFIED: boolean(false),
  CREDWATCH_HISTORY_LIMIT: integer(50, 1, 10_000),
  CREDWATCH_PORT: port(8080),
  CREDWATCH_HOST: z.string().default('0.0.0.0'),
  CREDWATCH_METRICS_PORT: port(),
  CREDWATCH_ADMIN_TOKEN: optionalString,
  CREDWATCH_WEBHOOKS_FILE: optionalString,
  CREDWATCH_WEBHOOK_URL: url(),
  CREDWATCH_WEBHOOK_SECRET: optionalString,
  CREDWATCH_WEBHOOK_TIMEOUT: duration('15s'),
  CREDWATCH_JOB_LOCK_DURATION: duration('30s'),
  CREDWATCH_SHUTDOWN_TIMEOUT: duration('10s'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
});

/** The typed configuration every part of credwatch receives from the composition root. */
export interface Config {
  leaf: {
    apiUrl: string;
    username: string | undefined;
    password: string | undefined;
    token: string | undefined;
    requestTimeoutMs: number;
    maxRetries: number;
    alertsSecret: string | undefined;
  };
  /** `cluster` is set when REDIS_URL is a redis+cluster:// URL: the daemon then uses ioredis Cluster. */
  redis: { url: string; prefix: string; cluster: RedisClusterConfig | undefined };
  monitor: {
    providers: ProviderId[];
    pollIntervalMs: number;
    pollConcurrency: number;
    leafRps: number;
    rulesFile: string | undefined;
    rulesWatchIntervalMs: number;
    unclassifiedMaxSignatures: number;
    providerUnavailableAfterMs: number;
    flapCooldownMs: number;
    notifyUnclassified: boolean;
    historyLimit: number;
    shutdownTimeoutMs: number;
    jobLockDurationMs: number;
  };
  http: { port: number; host: string; metricsPort: number | undefined; adminToken: string | undefined };
  webhooks: {
    file: string | undefined;
    url: string | undefined;
    secret: string | undefined;
    timeoutMs: number;
  };
  log: { level: string; format: 'auto' | 'json' | 'pretty' };
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

/**
 * Parses the environment into a Config. Throws ConfigError naming every bad variable at once, so an
 * operator fixes them in one round.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const known = Object.fromEntries(CONFIG_DOCS.map((d) => [d.name, env[d.name]]));
  const parsed = schema.safeParse(known);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? '?');
      const raw = env[name];
      // Never echo a secret's value back in an error.
      const shown = /PASSWORD|TOKEN|SECRET/.test(name) ? '' : raw === undefined ? ' (unset)' : '';
      problems.push(`${name}: ${issue.message}${shown}`);
    }
  }
  if (parsed.success) {
    const v = parsed.data;
    if ((v.LEAF_USERNAME === undefined) !== (v.LEAF_PASSWORD === undefined)) {
      problems.push('LEAF_USERNAME / LEAF_PASSWORD: set both, or neither (use LEAF_TOKEN for a static token)');
    }
    if (v.CREDWATCH_WEBHOOK_URL !== undefined && v.CREDWATCH_WEBHOOK_SECRET === undefined) {
      problems.push('CREDWATCH_WEBHOOK_SECRET: required when CREDWATCH_WEBHOOK_URL is set (format whsec_<base64>)');
    }
    if (v.CREDWATCH_WEBHOOK_SECRET !== undefined && !/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(v.CREDWATCH_WEBHOOK_SECRET)) {
      problems.push('CREDWATCH_WEBHOOK_SECRET: expected whsec_ followed by base64');
    }
    if (v.CREDWATCH_JOB_LOCK_DURATION < 1000) {
      problems.push('CREDWATCH_JOB_LOCK_DURATION: expected at least 1s');
    }
    if (parseClusterUrl(v.REDIS_URL) !== undefined && !/\{[^{}]+\}/.test(v.CREDWATCH_PREFIX)) {
      // BullMQ's scripts and the credential store touch many keys at once: one hash slot is required.
      problems.push('CREDWATCH_PREFIX: on Redis Cluster the prefix needs a hash tag, such as {credwatch}');
    }
    if (v.CREDWATCH_POLL_INTERVAL < 1000) {
      problems.push('CREDWATCH_POLL_INTERVAL: expected at least 1s');
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const v = parsed.data;
  return {
    leaf: {
      apiUrl: v.LEAF_API_URL ?? 'https://api.withleaf.io',
      username: v.LEAF_USERNAME,
      password: v.LEAF_PASSWORD,
      token: v.LEAF_TOKEN,
      requestTimeoutMs: v.LEAF_REQUEST_TIMEOUT,
      maxRetries: v.LEAF_MAX_RETRIES,
      alertsSecret: v.LEAF_ALERTS_SECRET,
    },
    redis: { url: v.REDIS_URL, prefix: v.CREDWATCH_PREFIX, cluster: parseClusterUrl(v.REDIS_URL) },
    monitor: {
      providers: v.CREDWATCH_PROVIDERS,
      pollIntervalMs: v.CREDWATCH_POLL_INTERVAL,
      pollConcurrency: v.CREDWATCH_POLL_CONCURRENCY,
      leafRps: v.CREDWATCH_LEAF_RPS,
      rulesFile: v.CREDWATCH_RULES_FILE,
      rulesWatchIntervalMs: v.CREDWATCH_RULES_WATCH_INTERVAL,
      unclassifiedMaxSignatures: v.CREDWATCH_UNCLASSIFIED_MAX_SIGNATURES,
      providerUnavailableAfterMs: v.CREDWATCH_PROVIDER_UNAVAILABLE_AFTER,
      flapCooldownMs: v.CREDWATCH_FLAP_COOLDOWN,
      notifyUnclassified: v.CREDWATCH_NOTIFY_UNCLASSIFIED,
      historyLimit: v.CREDWATCH_HISTORY_LIMIT,
      shutdownTimeoutMs: v.CREDWATCH_SHUTDOWN_TIMEOUT,
      jobLockDurationMs: v.CREDWATCH_JOB_LOCK_DURATION,
    },
    http: {
      port: v.CREDWATCH_PORT ?? 8080,
      host: v.CREDWATCH_HOST,
      metricsPort: v.CREDWATCH_METRICS_PORT,
      adminToken: v.CREDWATCH_ADMIN_TOKEN,
    },
    webhooks: {
      file: v.CREDWATCH_WEBHOOKS_FILE,
      url: v.CREDWATCH_WEBHOOK_URL,
      secret: v.CREDWATCH_WEBHOOK_SECRET,
      timeoutMs: v.CREDWATCH_WEBHOOK_TIMEOUT,
    },
    log: { level: v.LOG_LEVEL, format: v.LOG_FORMAT },
  };
}
