import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from '../logger.js';
import { safeError } from '../logger.js';
import { requireAdmin } from './auth.js';

/** Routers the composition root hands to the admin app. */
export interface AdminAppDeps {
  adminToken: string | undefined;
  logger: Logger;
  /** Public routers: health, metrics (when on the same port), Leaf alert intake. */
  publicRouters: Router[];
  /** Routers behind the admin token (the JSON API). */
  adminRouters: Router[];
  /** Routers for `GET /` behind the admin token with an HTTP Basic challenge (the status page). */
  browserRouters?: Router[];
}

/** Builds the HTTP app without listening (tests and main decide where it listens). */
export function buildAdminApp(deps: AdminAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  for (const router of deps.publicRouters) app.use(router);
  app.use('/api', requireAdmin(deps.adminToken));
  for (const router of deps.adminRouters) app.use(router);
  if (deps.browserRouters && deps.browserRouters.length > 0) {
    // Only the page itself asks a browser for the password: an unknown path stays a plain 404.
    app.get('/', requireAdmin(deps.adminToken, { browser: true }), ...deps.browserRouters);
  }
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not_found', message: 'no such route' });
  });
  // express 5 forwards rejected promises here; answer with a safe message only.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    deps.logger.error({ err: safeError(error), path: req.path }, 'request failed');
    if (!res.headersSent) res.status(500).json({ error: 'internal', message: 'internal error; see the credwatch log' });
  });
  return app;
}
