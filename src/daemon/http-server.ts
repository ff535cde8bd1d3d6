import type { CapacityReader } from '../monitor/capacity.js';
import { createServer, type Server } from 'node:http';
import express from 'express';
import type { Registry } from 'prom-client';
import type { Config, Role } from '../config.js';
import { buildAdminApp } from '../http/app.js';
import { createCredentialsRouter } from '../http/routes/credentials.route.js';
import { createHealthRouter, type ReadinessProbe } from '../http/routes/health.route.js';
import { createIncidentsRouter } from '../http/routes/incidents.route.js';
import { createLeafAlertsRouter } from '../http/routes/leaf-alerts.route.js';
import { createMetricsRouter } from '../http/routes/metrics.route.js';
import { createStatusRouter } from '../http/routes/status.route.js';
import { createUnclassifiedRouter } from '../http/routes/unclassified.route.js';
import { createWebhooksRouter } from '../http/routes/webhooks.route.js';
import type { UnclassifiedInbox } from '../monitor/unclassified-inbox.js';
import type { ProviderId } from '../core/providers.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { CredentialStore } from '../monitor/credential-store.js';
import type { PollReason } from '../monitor/schedules.js';
import { VERSION } from '../version.js';
import type { WebhookService } from '../webhooks/webhook-service.js';

/** What the HTTP servers are built from. */
export interface HttpDeps {
  roles: readonly Role[];
  config: Config;
  registry: Registry;
  readiness: ReadinessProbe;
  store: CredentialStore;
  webhooks: WebhookService;
  inbox: UnclassifiedInbox;
  capacity: CapacityReader;
  metrics: Metrics;
  logger: Logger;
  requestPoll(provider: ProviderId, leafUserId: string, reason: Exclude<PollReason, 'schedule'>): Promise<void>;
}

/** The listening servers: their URLs and one close for all. */
export interface DaemonHttp {
  httpUrl: string | undefined;
  metricsUrl: string | undefined;
  close(): Promise<void>;
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

/**
 * With the http role: health, the admin API, the status page, Leaf's alert intake and /metrics (on its own
 * port when CREDWATCH_METRICS_PORT is set). Without it: a probe server with health and /metrics only, since a
 * scheduler- or worker-only process keeps its counters (polls, Leaf requests, deliveries) in its own memory.
 */
export async function startHttp(deps: HttpDeps): Promise<DaemonHttp> {
  const { config, registry, logger } = deps;
  const servers: Server[] = [];
  const close = async () => void (await Promise.all(servers.map(closeServer)));
  const displayHost = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
  const serve = async (app: express.Express, port: number) => {
    const server = createServer(app);
    const bound = await listen(server, port, config.http.host);
    servers.push(server);
    return bound;
  };
  const metricsRouter = createMetricsRouter(registry);
  try {
    if (!deps.roles.includes('http')) {
      const port = await serve(
        express().use(createHealthRouter(deps.readiness), metricsRouter),
        config.http.metricsPort ?? config.http.port,
      );
      return { httpUrl: undefined, metricsUrl: `http://${displayHost}:${port}/metrics`, close };
    }
    const separateMetrics = config.http.metricsPort !== undefined;
    const app = buildAdminApp({
      adminToken: config.http.adminToken,
      logger,
      publicRouters: [
        createHealthRouter(deps.readiness),
        ...(separateMetrics ? [] : [metricsRouter]),
        // Leaf's push path: an alert only makes the poll of that credential happen sooner.
        ...(config.leaf.alertsSecret === undefined
          ? []
          : [
              createLeafAlertsRouter({
                secret: config.leaf.alertsSecret,
                lookupCredential: (id) => deps.store.findByCredentialId(id),
                requestPoll: (provider, leafUserId) => deps.requestPoll(provider, leafUserId, 'leaf_alert'),
                metrics: deps.metrics,
                logger: logger.child({ component: 'leaf-alerts' }),
              }),
            ]),
      ],
      adminRouters: [
        createCredentialsRouter({
          store: deps.store,
          providers: config.monitor.providers,
          capacity: () => deps.capacity.read(Date.now()),
          requestPoll: (provider, leafUserId) => deps.requestPoll(provider, leafUserId, 'manual'),
        }),
        createWebhooksRouter(deps.webhooks),
        createIncidentsRouter(deps.webhooks),
        createUnclassifiedRouter(deps.inbox),
      ],
      browserRouters: [
        createStatusRouter({
          store: deps.store,
          providers: config.monitor.providers,
          endpoints: () => deps.webhooks.endpointsState(),
          version: VERSION,
          logger,
          metricsHref: separateMetrics ? null : undefined,
          incidents: () => deps.webhooks.listIncidents(20),
          unclassified: () => deps.inbox.list(10),
          capacity: () => deps.capacity.read(Date.now()),
        }),
      ],
    });
    const port = await serve(app, config.http.port);
    const httpUrl = `http://${displayHost}:${port}`;
    let metricsUrl = `${httpUrl}/metrics`;
    if (separateMetrics) {
      const mport = await serve(express().use(metricsRouter), config.http.metricsPort ?? 0);
      metricsUrl = `http://${displayHost}:${mport}/metrics`;
    }
    if (config.http.adminToken === undefined) logger.warn('CREDWATCH_ADMIN_TOKEN is not set: the /api routes and the status page are off');
    return { httpUrl, metricsUrl, close };
  } catch (error) {
    await close();
    throw error;
  }
}
