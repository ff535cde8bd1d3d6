import { Router } from 'express';
import type { Registry } from 'prom-client';

/** `GET /metrics` in the Prometheus text format. */
export function createMetricsRouter(registry: Registry): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    try {
      const body = await registry.metrics();
      res.setHeader('Content-Type', registry.contentType);
      res.send(body);
    } catch (error) {
      res
        .status(500)
        .type('text/plain')
        .send(`# scrape failed: ${(error as Error).message}\n`);
    }
  });
  return router;
}
