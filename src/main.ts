import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import express from 'express';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { loadRulesFile } from './classify/index.js';
import { UsageError, type Command } from './cli/command.js';
import { loadConfig, ROLES, type Config, type Role } from './config.js';
import { buildAdminApp } from './http/app.js';
import { createCredentialsRouter } from './http/routes/credentials.route.js';
import { createHealthRouter } from './http/routes/health.route.js';
import { createLeafAlertsRouter } from './http/routes/leaf-alerts.route.js';
import { createMetricsRouter } from './http/routes/metrics.route.js';
import { createWebhooksRouter } from './http/routes/webhooks.route.js';
import { createStatusRouter } from './http/routes/status.route.js';
import { LeafClient } from './leaf/leaf-client.js';
import { RedisRequestBudget } from './leaf/request-budget.js';
import { RedisTokenStore } from './leaf/token-store.js';
import type { ProviderId } from './leaf/providers.js';
import { createLogger, safeError, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { connectRedis } from './redis-connection.js';
import { CredentialStore } from './monitor/credential-store.js';
import { createPollProcessor } from './monitor/poll.processor.js';
import { POLL_JOB_DEFAULTS, QUEUES, jitteredBackoff, upsertSchedules } from './monitor/schedules.js';
import { createSweepProcessor, enqueuePolls } from './monitor/sweep.processor.js';
import { VERSION } from './version.js';
import { createClassifierMetrics } from './metrics/classifier-metrics.js';
import { reassessCredentials } from './monitor/reassess-credentials.js';
import { startRulesReloader, type RulesReloadResult } from './monitor/rules-reloader.js';
import { UnclassifiedInbox } from './monitor/unclassified-inbox.js';
import { createUnclassifiedRouter } from './http/routes/unclassified.route.js';
import { deliveryQueueName } from './webhooks/delivery.processor.js';
import { loadEndpoints } from './webhooks/endpoints.js';
import { createWebhookService, type WebhookService } from './webhooks/webhook-service.js';

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

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Builds and starts every part the roles ask for. The composition root: nothing else wires parts together. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const config = loadConfig(options.env);
  const roles = [...new Set(options.roles && options.roles.length > 0 ? options.roles : ROLES)];
  const logger = options.logger ?? createLogger({ level: config.log.level, format: config.log.format, isTTY: options.isTTY ?? false });
  const endpoints = await loadEndpoints({ file: config.webhooks.file, url: config.webhooks.url, secret: config.webhooks.secret });
  const registry = new Registry();
  const metrics = createMetrics(registry, { providers: config.monitor.providers, endpoints: endpoints.map((e) => e.name), version: VERSION });
  const initialRules = config.monitor.rulesFile ? await loadRulesFile(config.monitor.rulesFile) : [];

  const redis = await connectRedis(config, logger, metrics);
  const prefix = config.redis.prefix;
  const closers: Array<() => Promise<void>> = [async () => void (await redis.quit().catch(() => redis.disconnect()))];
  const store = new CredentialStore(redis, prefix, { historyLimit: config.monitor.historyLimit, providers: config.monitor.providers });
  const leaf = new LeafClient({
    apiUrl: config.leaf.apiUrl,
    username: config.leaf.username,
    password: config.leaf.password,
    token: config.leaf.token,
    requestTimeoutMs: config.leaf.requestTimeoutMs,
    maxRetries: config.leaf.maxRetries,
    budget: new RedisRequestBudget({ redis, key: `${prefix}:leaf:budget`, rps: config.monitor.leafRps }),
    tokenStore: new RedisTokenStore({ redis, key: `${prefix}:leaf:token` }),
    metrics,
    logger: logger.child({ component: 'leaf' }),
  });
  closers.unshift(async () => leaf.close());
  const queueOptions = { connection: redis, prefix };
  // BullMQ keeps an events stream per queue (10 000 entries by default); nothing here reads it, so keep it short.
  const streams = { events: { maxLen: 1000 } };
  const pollQueue = new Queue(QUEUES.poll, { ...queueOptions, streams, defaultJobOptions: POLL_JOB_DEFAULTS });
  const sweepQueue = new Queue(QUEUES.sweep, { ...queueOptions, streams });
  closers.unshift(async () => void (await Promise.all([pollQueue.close(), sweepQueue.close()])));
  // Read-only handles on the delivery queues, for the queue gauges.
  const deliveryQueues = endpoints.map((e) => new Queue(deliveryQueueName(e.name), queueOptions));
  closers.unshift(async () => void (await Promise.all(deliveryQueues.map((q) => q.close()))));
  for (const queue of [pollQueue, sweepQueue, ...deliveryQueues]) {
    // Connection errors are already logged (rate-limited) by the shared client's listener.
    queue.on('error', () => undefined);
  }

  const webhooks: WebhookService = createWebhookService({
    redis,
    prefix,
    endpoints,
    timeoutMs: config.webhooks.timeoutMs,
    cooldownMs: config.monitor.flapCooldownMs,
    notifyUnclassified: config.monitor.notifyUnclassified,
    metrics,
    logger,
    tuning: { lockDurationMs: config.monitor.jobLockDurationMs, stalledIntervalMs: config.monitor.jobLockDurationMs },
  });
  closers.unshift(() => webhooks.close());
  const requestPoll = (provider: ProviderId, leafUserId: string) => enqueuePolls(pollQueue, [provider], [leafUserId], 'manual');
  const inbox = new UnclassifiedInbox(redis, prefix, config.monitor.unclassifiedMaxSignatures);
  const rules = startRulesReloader({
    file: config.monitor.rulesFile,
    initialRules,
    watchIntervalMs: config.monitor.rulesWatchIntervalMs,
    metrics: createClassifierMetrics(registry, { inboxSize: () => inbox.size() }),
    logger: logger.child({ component: 'rules' }),
    // Credentials decided by a fallback or a changed rule are polled again: transitions and webhooks as usual.
    reassess: (changedRuleIds) =>
      reassessCredentials({ store, providers: config.monitor.providers, changedRuleIds, enqueue: (provider, ids) => enqueuePolls(pollQueue, [provider], ids, 'manual') }),
  });
  const classifier = rules.classifier;
  closers.unshift(async () => rules.close());
  metrics.setScrapeSources({
    credentialCounts: () => store.counts(),
    oldestPollAges: () => store.oldestPollAges(Date.now()),
    lastSweepSuccess: async () => {
      const info = await store.sweepInfo();
      return info.lastFinishedAt ? Date.parse(info.lastFinishedAt) / 1000 : undefined;
    },
    queueCounts: async () => {
      const rows: Array<{ queue: string; state: string; count: number }> = [];
      for (const queue of [pollQueue, sweepQueue, ...deliveryQueues]) {
        const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
        rows.push({ queue: queue.name, state: 'waiting', count: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0) });
        for (const state of ['active', 'delayed', 'failed']) rows.push({ queue: queue.name, state, count: counts[state] ?? 0 });
      }
      return rows;
    },
    deadLetters: () => webhooks.deadLetterCounts(),
    providerUnavailableOverdue: () => store.countInCategorySince('provider_unavailable', Date.now() - config.monitor.providerUnavailableAfterMs),
  });

  const daemonClose = async (): Promise<void> => {
    for (const close of closers) {
      try {
        await close();
      } catch (error) {
        logger.warn({ err: safeError(error) }, 'error while shutting down');
      }
    }
  };

  const workers: Worker[] = [];
  let httpUrl: string | undefined;
  let metricsUrl: string | undefined;
  try {
    if (roles.includes('worker') || roles.includes('scheduler')) {
      // Fail at start, with one line, when Leaf is unreachable or refuses our credentials.
      await leaf.authenticate();
    }
    const workerOptions = {
      ...queueOptions,
      lockDuration: config.monitor.jobLockDurationMs,
      stalledInterval: config.monitor.jobLockDurationMs,
      maxStalledCount: 2,
    };
    if (roles.includes('scheduler')) {
      await upsertSchedules({ sweep: sweepQueue }, { pollIntervalMs: config.monitor.pollIntervalMs });
      const sweep = createSweepProcessor({
        leaf,
        store,
        pollQueue,
        providers: config.monitor.providers,
        metrics,
        logger: logger.child({ component: 'sweep' }),
      });
      workers.push(new Worker(QUEUES.sweep, sweep, { ...workerOptions, concurrency: 1 }));
    }
    if (roles.includes('worker')) {
      const poll = createPollProcessor({ leaf, classifier, store, metrics, logger: logger.child({ component: 'poll' }), queue: pollQueue, inbox });
      workers.push(
        new Worker(QUEUES.poll, poll, {
          ...workerOptions,
          concurrency: config.monitor.pollConcurrency,
          settings: { backoffStrategy: (attemptsMade: number) => jitteredBackoff(attemptsMade, 2000) },
        }),
      );
    }
    if (roles.includes('worker') || roles.includes('scheduler')) {
      // Delivery workers and the outbox dispatcher: idempotent, so every such process may run them.
      await webhooks.start();
    }
    for (const worker of workers) {
      worker.on('error', (error) => logger.error({ err: safeError(error), queue: worker.name }, 'worker error'));
      worker.on('failed', (job, error) => {
        if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
          logger.error({ err: safeError(error), queue: worker.name, jobId: job.id }, 'job failed for good');
        }
      });
    }
    closers.unshift(async () => {
      const graceful = Promise.all(workers.map((w) => w.close()));
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.monitor.shutdownTimeoutMs).unref());
      if ((await Promise.race([graceful.then(() => 'done' as const), deadline])) === 'timeout') {
        logger.warn({ timeoutMs: config.monitor.shutdownTimeoutMs }, 'in-flight jobs did not finish in time; releasing them');
        await Promise.all(workers.map((w) => w.close(true)));
      }
    });

    const readiness = async () => {
      const checks: Record<string, boolean> = { redis: redis.status === 'ready' };
      for (const w of workers) checks[`worker:${w.name}`] = w.isRunning();
      return { ready: Object.values(checks).every(Boolean), checks };
    };
    const metricsRouter = createMetricsRouter(registry);
    if (!roles.includes('http')) {
      // A scheduler- or worker-only process still answers health checks and is scraped: its counters
      // (polls, Leaf requests, deliveries) live in this process only.
      const probe = createServer(express().use(createHealthRouter(readiness), metricsRouter));
      const port = await listen(probe, config.http.metricsPort ?? config.http.port, config.http.host);
      closers.unshift(() => closeServer(probe));
      metricsUrl = `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${port}/metrics`;
    }
    if (roles.includes('http')) {
      const separateMetrics = config.http.metricsPort !== undefined;
      const app = buildAdminApp({
        adminToken: config.http.adminToken,
        logger,
        publicRouters: [
          createHealthRouter(readiness),
          ...(separateMetrics ? [] : [metricsRouter]),
          // Leaf's push path: an alert only makes the poll of that credential happen sooner.
          ...(config.leaf.alertsSecret === undefined
            ? []
            : [
                createLeafAlertsRouter({
                  secret: config.leaf.alertsSecret,
                  lookupCredential: (id) => store.findByCredentialId(id),
                  requestPoll: (provider, leafUserId) => enqueuePolls(pollQueue, [provider], [leafUserId], 'leaf_alert'),
                  metrics,
                  logger: logger.child({ component: 'leaf-alerts' }),
                }),
              ]),
        ],
        adminRouters: [createCredentialsRouter({ store, providers: config.monitor.providers, requestPoll }), createWebhooksRouter(webhooks), createUnclassifiedRouter(inbox)],
        browserRouters: [
          createStatusRouter({
            store,
            providers: config.monitor.providers,
            endpoints: () => webhooks.endpointsState(),
            version: VERSION,
            logger,
            metricsHref: separateMetrics ? null : undefined,
            unclassified: () => inbox.list(10),
          }),
        ],
      });
      const http = createServer(app);
      const port = await listen(http, config.http.port, config.http.host);
      closers.unshift(() => closeServer(http));
      httpUrl = `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${port}`;
      if (separateMetrics) {
        const metricsServer = createServer(express().use(metricsRouter));
        const mport = await listen(metricsServer, config.http.metricsPort ?? 0, config.http.host);
        closers.unshift(() => closeServer(metricsServer));
        metricsUrl = `${httpUrl.replace(/:\d+$/, '')}:${mport}/metrics`;
      } else {
        metricsUrl = `${httpUrl}/metrics`;
      }
      if (config.http.adminToken === undefined) logger.warn('CREDWATCH_ADMIN_TOKEN is not set: the /api routes and the status page are off');
    }
  } catch (error) {
    await daemonClose();
    throw error;
  }

  logger.info(
    {
      roles,
      version: VERSION,
      http: httpUrl,
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
    httpUrl,
    metricsUrl,
    store,
    metrics,
    pollQueue,
    sweepQueue,
    redis,
    requestPoll,
    reloadRules: (trigger = 'manual') => rules.reload(trigger),
    sweepNow: async () => void (await sweepQueue.add('sweep', { trigger: 'manual' }, { removeOnComplete: { count: 10 }, removeOnFail: { count: 50 } })),
    close: () => (closed ??= (async () => {
      logger.info('shutting down');
      await daemonClose();
      logger.info('stopped');
    })()),
  };
}

const START_HELP = `Usage: credwatch start [--role scheduler|worker|http]...

Runs the monitor daemon. Without --role it runs every role in one process:
  scheduler  declares the sweep schedule and runs the sweeps (one at a time across processes)
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
