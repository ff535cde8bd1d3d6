import { Router } from 'express';

/** Readiness as the composition root sees it. */
export interface ReadinessProbe {
  (): Promise<{ ready: boolean; checks: Record<string, boolean> }>;
}

/** `GET /healthz` (the process answers) and `GET /readyz` (Redis reachable, workers running). */
export function createHealthRouter(readiness: ReadinessProbe): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const result = await readiness().catch(() => ({ ready: false, checks: { probe: false } }));
    res.status(result.ready ? 200 : 503).json({ status: result.ready ? 'ready' : 'not_ready', checks: result.checks });
  });
  return router;
}
