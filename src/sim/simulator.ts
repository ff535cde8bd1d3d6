import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Category } from '../classify/categories.js';
import { CredwatchError } from '../errors.js';
import { AlertCenter } from './alerts.js';
import { TokenIssuer, authenticateHandler, requireBearer } from './auth.js';
import { controlRoutes } from './control.js';
import { FaultInjector } from './faults.js';
import { sendLeafError } from './leaf-response.js';
import { Population } from './population.js';
import { createRng, mixSeed } from './prng.js';
import { leafRoutes } from './routes.js';
import type { SimFaults, SimStats, SimUserView } from './types.js';

export type { SimCredential, SimEvent, SimFaults, SimStats, SimUserProfile, SimUserView } from './types.js';

/** How to build a simulator. */
export interface SimulatorOptions {
  /** Seeded users (0 to 1 000 000). */
  users: number;
  /** Same seed, same users. */
  seed: number;
  /** Leaf account accepted by `POST /api/authenticate` (default demo@example.com). */
  username?: string;
  /** Its password (default demo-password). */
  password?: string;
  /** Token lifetime; by default 30 days with rememberMe "true", 24 h otherwise, as Leaf does. */
  tokenTtlSeconds?: number;
  /** Latency added to every Leaf answer, in milliseconds. */
  latencyMs?: number;
  /** Clock in ms since the epoch (tests pass a fake one). */
  now?: () => number;
  /** Delays between alert delivery attempts (default 100, 500, 2000 ms). */
  alertRetryDelaysMs?: number[];
}

/** A simulated Leaf: an express app that never listens by itself, plus the handles tests need. */
export interface Simulator {
  app: Express;
  /** How many users the taxonomy puts in each category. */
  expected(): Record<Category, number>;
  /** One user's expected category (undefined for an unknown user). */
  expectedCategory(userId: string): Category | undefined;
  /** Everything about one user, as `GET /_sim/users/{id}` shows it. */
  user(userId: string): SimUserView | undefined;
  /** Every user id in listing order. */
  userIds(): string[];
  stats(): SimStats;
  faults(): SimFaults;
  /** Replaces the faults; fields left out are switched off. */
  setFaults(faults: Partial<SimFaults>): SimFaults;
  resetStats(): void;
  /** Cancels pending alert deliveries. */
  close(): Promise<void>;
}

const MAX_USERS = 1_000_000;

function emptyStats(): SimStats {
  return {
    requests: {},
    rateLimited: 0,
    rateLimitedRecent: [],
    injectedErrors: 0,
    malformedBodies: 0,
    currentRps: 0,
    alerts: { sent: 0, failed: 0, retried: 0, confirmations: 0 },
  };
}

function validate(options: SimulatorOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(options.users) || options.users < 0 || options.users > MAX_USERS)
    problems.push(`users must be a whole number from 0 to ${MAX_USERS}`);
  if (!Number.isSafeInteger(options.seed)) problems.push('seed must be a whole number');
  if (options.tokenTtlSeconds !== undefined && !(Number.isFinite(options.tokenTtlSeconds) && options.tokenTtlSeconds > 0)) {
    problems.push('tokenTtlSeconds must be a positive number');
  }
  if (options.latencyMs !== undefined && !(Number.isFinite(options.latencyMs) && options.latencyMs >= 0))
    problems.push('latencyMs must be 0 or more');
  if (options.username === '' || options.password === '') problems.push('username and password must not be empty');
  if (problems.length > 0) throw new CredwatchError('INPUT_INVALID', `invalid simulator options: ${problems.join('; ')}`);
}

/** Builds a simulator (validating the options); call `startSimulator` to serve it. */
export function createSimulator(options: SimulatorOptions): Simulator {
  validate(options);
  const now = options.now ?? Date.now;
  const seed = options.seed >>> 0;
  const population = new Population(seed, options.users, now(), now);
  // Faults and alerts count into this one object; a reset clears its fields in place.
  const stats = emptyStats();
  const faults = new FaultInjector(createRng(mixSeed(seed, 0xfa17)), now, stats, options.latencyMs ?? 0);
  const alerts = new AlertCenter(createRng(mixSeed(seed, 0xa1e7)), now, stats, options.alertRetryDelaysMs);
  const issuer = new TokenIssuer(now);
  const snapshot = (): SimStats => ({ ...structuredClone(stats), currentRps: faults.currentRps() });
  const resetStats = () => {
    Object.assign(stats, emptyStats());
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use('/_sim', controlRoutes({ population, alerts, faults, stats: snapshot, resetStats }));
  app.use(faults.middleware());
  app.post(
    '/api/authenticate',
    express.json(),
    authenticateHandler(issuer, {
      username: options.username ?? 'demo@example.com',
      password: options.password ?? 'demo-password',
      tokenTtlSeconds: options.tokenTtlSeconds,
    }),
  );
  app.use(requireBearer(issuer));
  app.use(leafRoutes(population, alerts));
  app.use((_req: Request, res: Response) => sendLeafError(res, 404, 'Not found', 'notfound'));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // Body-parser errors (bad JSON) carry a status; anything else is the simulator's own bug.
    const status =
      typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number' ? error.status : 500;
    if (res.req.path.startsWith('/_sim'))
      res.status(status).json({ error: status === 400 ? 'request body is not valid JSON' : 'simulator error' });
    else
      sendLeafError(
        res,
        status,
        status === 400 ? 'Malformed JSON request' : 'Internal server error',
        status === 400 ? 'badrequest' : 'internalServerError',
      );
  });

  return {
    app,
    expected: () => population.mix(),
    expectedCategory: (id) => population.expectedCategory(id),
    user: (id) => population.view(id),
    userIds: () => population.ids(),
    stats: snapshot,
    faults: () => faults.get(),
    setFaults: (f) => faults.set(f),
    resetStats,
    close: async () => alerts.close(),
  };
}

/** A simulator listening on a port. */
export interface StartedSimulator {
  url: string;
  port: number;
  sim: Simulator;
  /** Stops listening, closes keep-alive sockets and pending alert deliveries. */
  close(): Promise<void>;
}

/** Builds a simulator and listens (port 0 picks a free port; host defaults to 127.0.0.1). */
export async function startSimulator(options: SimulatorOptions & { port?: number; host?: string }): Promise<StartedSimulator> {
  const sim = createSimulator(options);
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer(sim.app);
  server.keepAliveTimeout = 5000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    sim,
    close: () => {
      closing ??= (async () => {
        await sim.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        await closed;
      })();
      return closing;
    },
  };
}
