import { parseArgs } from 'node:util';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { loadRulesFile } from './classify/index.js';
import { UsageError, type Command } from './core/command.js';
import { loadConfig, ROLES, type Config, type Role } from './config.js';
import { startHttp, type DaemonHttp } from './daemon/http-server.js';
import { createQueues } from './daemon/queues.js';
import { createScrapeSources } from './daemon/scrape-sources.js';
import { startWorkers } from './daemon/workers.js';
import { createLeafClient } from './leaf/create-leaf-client.js';
import { RedisRequestBudget } from './leaf/request-budget.js';
import { RedisTokenStore } from './leaf/token-store.js';
import type { ProviderId } from './core/providers.js';
import { createLogger, safeError, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { connectRedis } from './redis-connection.js';
import { createRedisErrorReporter } from './redis-error-reporter.js';
import { assertPortFree, startKeysGuard } from './start-guard.js';
import { stalledCheckIntervalMs } from './monitor/stalled-check-interval.js';
import { QUEUES } from './monitor/schedules.js';
import { deliveryQueueName } from './webhooks/delivery.processor.js';
import { CredentialStore } from './monitor/credential-store.js';
import type { PollReason } from './monitor/schedules.js';
import { enqueuePolls } from './monitor/poll-jobs.js';
import { PollSchedule } from './monitor/poll-schedule.js';
import { migrateKeyLayout } from './monitor/key-layout-migration.js';
import { CapacityReader } from './monitor/capacity.js';
import { VERSION } from './version.js';
import { createClassifierMetrics } from './metrics/classifier-metrics.js';
import { reassessCredentials } from './monitor/reassess-credentials.js';
import { startRulesReloader, type RulesReloadResult } from './monitor/rules-reloader.js';
import { UnclassifiedInbox } from './monitor/unclassified-inbox.js';
import { loadEndpoints } from './webhooks/endpoints.js';
import { createWebhookService } from './webhooks/webhook-service.js';

/** A running daemon, as tests and the CLI see it. */
export interface Daemon {
  config: Config;
  roles: Role[];
  /** Base URL of the HTTP server when the http role runs (e.g. http://127.0.0.1:8080). */
  httpUrl: string | undefined;
  metricsUrl: string | undefined;
  store: CredentialStore;
  metrics: Metrics;
  pollQueue: Queue;
  sweepQueue: Queue;
  redis: Redis;
  /** Queues a poll of one user ahead of the sweep. */
  requestPoll(provider: ProviderId, leafUserId: string): Promise<void>;
  /** Queues a sweep now (besides the schedule). */
  sweepNow(): Promise<void>;
  /** Re-reads CREDWATCH_RULES_FILE now (SIGHUP); a bad file is refused and the rules in force stay. */
  reloadRules(trigger?: string): Promise<RulesReloadResult>;
  /** Graceful stop: stop taking jobs, finish in-flight ones within the deadline, close everything. */
  close(): Promise<void>;
}

/** How startDaemon is called. */
export interface DaemonOptions {
  env: Record<string, string | undefined>;
  roles?: readonly Role[];
  logger?: Logger;
  /** Stdout of the process, to choose pretty logs on a terminal. */
  isTTY?: boolean;
}

/**
 * Builds and starts every part the roles ask for, and closes them in reverse order. The composition root:
 * nothing else wires parts together. Queues and workers, HTTP and probes, and the scrape sources each
 * live in src/daemon/.
 */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const config = loadConfig(options.env);
  const roles = [...new Set(options.roles && options.roles.length > 0 ? options.roles : ROLES)];
  const logger = options.logger ?? createLogger({ level: config.log.level, format: config.log.format, isTTY: options.isTTY ?? false });
  const endpoints = await loadEndpoints({ file: config.webhooks.file, url: config.webhooks.url, secret: config.webhooks.secret });
  const registry = new Registry();
  const metrics = createMetrics(registry, {
    providers: config.monitor.providers,
    endpoints: endpoints.map((e) => e.name),
    version: VERSION,
  });
  const initialRules = config.monitor.rulesFile ? await loadRulesFile(config.monitor.rulesFile) : [];

  // A taken port fails the start before anything is written to Redis or asked of Leaf.
  if (roles.includes('http') || config.http.metricsPort === undefined)
    await assertPortFree(config.http.port, config.http.host, 'CREDWATCH_PORT');
  if (config.http.metricsPort !== undefined) await assertPortFree(config.http.metricsPort, config.http.host, 'CREDWATCH_METRICS_PORT');
  const redisErrors = createRedisErrorReporter(logger);
  const redis = await connectRedis(config, logger, metrics, redisErrors);
  const prefix = config.redis.prefix;
  // Keys a failed start would otherwise leave behind (queue metadata, the budget, the token).
  const startKeys = await startKeysGuard(redis, [
    ...[QUEUES.poll, QUEUES.sweep, ...endpoints.map((e) => deliveryQueueName(e.name))].map((q) => `${prefix}:${q}:meta`),
    ...['', ':usage', ':paused', ':ramp'].map((suffix) => `${prefix}:leaf:budget${suffix}`),
    `${prefix}:leaf:token`,
  ]);
  // Run in order by close(): each part is put in front of the parts it depends on.
  const closers: Array<() => Promise<void>> = [async () => void (await redis.quit().catch(() => redis.disconnect()))];
  const close = async (): Promise<void> => {
    for (const closer of closers) {
      try {
        await closer();
      } catch (error) {
        logger.warn({ err: safeError(error) }, 'error while shutting down');
      }
    }
  };
  const store = new CredentialStore(redis, prefix, {
    historyLimit: config.monitor.historyLimit,
    providers: config.monitor.providers,
    intervals: { pollIntervalMs: config.monitor.pollIntervalMs, failingRecheckMs: config.monitor.failingRecheckMs },
  });
  const schedule = new PollSchedule(redis, prefix, config.monitor.providers);
  const budget = new RedisRequestBudget({ redis, key: `${prefix}:leaf:budget`, rps: config.monitor.leafRps });
  const capacity = new CapacityReader({
    redis,
    prefix,
    schedule,
    rps: config.monitor.leafRps,
    pollIntervalMs: config.monitor.pollIntervalMs,
    providers: config.monitor.providers.length,
    utilization: async () => (await budget.usage()).utilization,
  });
  const leaf = createLeafClient(config.leaf, {
    budget,
    tokenStore: new RedisTokenStore({ redis, key: `${prefix}:leaf:token` }),
    metrics,
    logger: logger.child({ component: 'leaf' }),
  });
  closers.unshift(async () => leaf.close());
  const queues = createQueues(
    redis,
    prefix,
    endpoints.map((e) => e.name),
    redisErrors,
  );
  closers.unshift(() => queues.close());
  const webhooks = createWebhookService({
    redis,
    prefix,
    endpoints,
    timeoutMs: config.webhooks.timeoutMs,
    cooldownMs: config.monitor.flapCooldownMs,
    notifyUnclassified: config.monitor.notifyUnclassified,
    includeEmail: config.webhooks.includeEmail,
    metrics,
    logger,
    health: config.webhookHealth,
    tuning: {
      lockDurationMs: config.monitor.jobLockDurationMs,
      stalledIntervalMs: stalledCheckIntervalMs(config.monitor.jobLockDurationMs),
      concurrency: config.webhooks.concurrency,
    },
    redisErrors,
    ...(config.incidents.enabled
      ? { incidents: { ...config.incidents, checkIntervalMs: Math.max(100, config.incidents.checkIntervalMs) } }
      : {}),
  });
  closers.unshift(() => webhooks.close());
  metrics.setScrapeSources(createScrapeSources({ store, queues, webhooks, monitor: config.monitor, capacity, budget }));
  // A manual or alert-triggered poll fetches the credential object again: Leaf may know something new.
  const requestPoll = async (provider: ProviderId, leafUserId: string, reason: Exclude<PollReason, 'schedule'> = 'manual') => {
    await store.forgetCachedCredential(provider, leafUserId);
    await enqueuePolls(queues.poll, [provider], [leafUserId], reason);
  };
  const inbox = new UnclassifiedInbox(redis, prefix, config.monitor.unclassifiedMaxSignatures);
  const rules = startRulesReloader({
    file: config.monitor.rulesFile,
    initialRules,
    watchIntervalMs: config.monitor.rulesWatchIntervalMs,
    metrics: createClassifierMetrics(registry, { inboxSize: () => inbox.size() }),
    logger: logger.child({ component: 'rules' }),
    // Credentials decided by a fallback or a changed rule are polled again: transitions and webhooks as usual.
    reassess: (changedRuleIds) =>
      reassessCredentials({
        store,
        providers: config.monitor.providers,
        changedRuleIds,
        enqueue: (provider, ids) => schedule.makeDue(ids, Date.now(), provider),
      }),
  });
  closers.unshift(async () => rules.close());

  let http: DaemonHttp;
  try {
    if (roles.includes('worker') || roles.includes('scheduler')) {
      // Fail at start, with one line, when Leaf is unreachable or refuses our credentials.
      await leaf.authenticate();
    }
    if (roles.includes('scheduler')) {
      // Keys of an earlier version's layout (idempotent; nothing to do on the current one).
      const migrated = await migrateKeyLayout(redis, prefix, config.monitor.providers, Date.now());
      if (Object.values(migrated).some((n) => n > 0)) logger.info(migrated, 'Redis keys moved to the current layout');
    }
    const workers = await startWorkers({
      roles,
      config,
      redis,
      leaf,
      classifier: rules.classifier,
      inbox,
      store,
      queues,
      metrics,
      logger,
      redisErrors,
      schedule,
      capacity,
    });
    closers.unshift(() => workers.close());
    if (roles.includes('worker') || roles.includes('scheduler')) {
      // Delivery workers and the outbox dispatcher: idempotent, so every such process may run them.
      await webhooks.start();
    }
    const readiness = async () => {
      const checks: Record<string, boolean> = { redis: redis.status === 'ready' };
      for (const w of workers.workers) checks[`worker:${w.name}`] = w.isRunning();
      return { ready: Object.values(checks).every(Boolean), checks };
    };
    http = await startHttp({ roles, config, registry, readiness, store, webhooks, inbox, metrics, logger, requestPoll, capacity });
    closers.unshift(() => http.close());
  } catch (error) {
    await startKeys.removeCreated().catch(() => undefined);
    await close();
    throw error;
  }

  logger.info(
    {
      roles,
      version: VERSION,
      http: http.httpUrl,
      providers: config.monitor.providers,
      pollIntervalMs: config.monitor.pollIntervalMs,
      leafRps: config.monitor.leafRps,
      concurrency: config.monitor.pollConcurrency,
    },
    'credwatch started',
  );
  let closed: Promise<void> | undefined;
  return {
    config,
    roles,
    httpUrl: http.httpUrl,
    metricsUrl: http.metricsUrl,
    store,
    metrics,
    pollQueue: queues.poll,
    sweepQueue: queues.sweep,
    redis,
    requestPoll: (provider, leafUserId) => requestPoll(provider, leafUserId),
    reloadRules: (trigger = 'manual') => rules.reload(trigger),
    sweepNow: async () =>
      void (await queues.sweep.add('sweep', { trigger: 'manual' }, { removeOnComplete: { count: 10 }, removeOnFail: { count: 50 } })),
    close: () =>
      (closed ??= (async () => {
        logger.info('shutting down');
        await close();
        logger.info('stopped');
      })()),
  };
}

const START_HELP = `Usage: credwatch start [--role scheduler|worker|http]...

Runs the monitor daemon. Without --role it runs every role in one process:
  scheduler  lists Leaf's users every CREDWATCH_POLL_INTERVAL (one sweep at a time across processes),
             releases due polls at the pace the Leaf budget allows, logs the capacity report
  worker     polls credentials (scale out by running more worker processes against one Redis)
  http       health, readiness, metrics, the admin API and the status page on CREDWATCH_PORT

Configuration comes from environment variables (see README.md): at least LEAF_API_URL and
LEAF_USERNAME/LEAF_PASSWORD or LEAF_TOKEN, and REDIS_URL. SIGTERM/SIGINT stop it gracefully;
SIGHUP (or a change of the file) reloads CREDWATCH_RULES_FILE without a restart.

Options:
  --role ROLE   run only this role (repeatable)
  -h, --help    show this help
`;

/** `credwatch start`. */
export const startCommand: Command = {
  name: 'start',
  summary: 'run the monitor daemon',
  help: START_HELP,
  async run(argv, io) {
    let values;
    try {
      ({ values } = parseArgs({ args: argv, options: { role: { type: 'string', multiple: true } }, allowPositionals: false }));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const roles = (values.role ?? []).flatMap((r) => r.split(','));
    const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
    if (unknown.length > 0) throw new UsageError(`unknown role(s) ${unknown.join(', ')}; expected ${ROLES.join(', ')}`);
    // SIGHUP re-reads the rules file (the composition root is the one place that touches process). Listening
    // before the start keeps an early SIGHUP from terminating the process (its default action).
    const started: { daemon?: Daemon } = {};
    const onHangup = () => void started.daemon?.reloadRules('SIGHUP');
    process.on('SIGHUP', onHangup);
    io.signal.addEventListener('abort', () => process.off('SIGHUP', onHangup), { once: true });
    const daemon = await startDaemon({ env: io.env, roles: roles as Role[], isTTY: io.stdout.isTTY === true }).catch((error: unknown) => {
      process.off('SIGHUP', onHangup);
      throw error;
    });
    started.daemon = daemon;
    if (daemon.httpUrl) io.stderr.write(`credwatch ${VERSION} running: ${daemon.httpUrl} (metrics: ${daemon.metricsUrl})\n`);
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await daemon.close();
    return 0;
  },
};
