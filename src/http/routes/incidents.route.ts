import { Router, type Response } from 'express';
import { z } from 'zod';
import type { WebhookService } from '../../webhooks/webhook-service.js';

/** The part of the webhook service the incidents API uses. */
export type IncidentsRouteService = Pick<WebhookService, 'listIncidents' | 'getIncident' | 'resolveIncident'>;

const incidentId = z.string().regex(/^inc_\d{1,12}$/, 'expected an incident id (inc_ and digits)');
const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });

function badRequest(res: Response, parameter: string, message: string): void {
  res.status(400).json({ error: 'bad_request', parameter, message: `${parameter}: ${message}` });
}

/**
 * `GET /api/incidents`, `GET /api/incidents/:id`, `POST /api/incidents/:id/release` and
 * `POST /api/incidents/:id/discard` (behind the admin token).
 */
export function createIncidentsRouter(service: IncidentsRouteService): Router {
  const router = Router();

  router.get('/api/incidents', async (req, res) => {
    const query = listQuery.safeParse(req.query);
    if (!query.success)
      return badRequest(res, String(query.error.issues[0]?.path[0] ?? 'limit'), query.error.issues[0]?.message ?? 'invalid');
    const items = await service.listIncidents(query.data.limit);
    res.json({ open: items.filter((i) => i.status === 'open').length, items });
  });

  router.get('/api/incidents/:id', async (req, res) => {
    const id = incidentId.safeParse(req.params['id']);
    if (!id.success) return badRequest(res, 'id', id.error.issues[0]?.message ?? 'invalid');
    const incident = await service.getIncident(id.data);
    if (incident === null) return void res.status(404).json({ error: 'not_found', message: `no incident ${id.data}` });
    res.json(incident);
  });

  for (const how of ['release', 'discard'] as const) {
    router.post(`/api/incidents/:id/${how}`, async (req, res) => {
      const id = incidentId.safeParse(req.params['id']);
      if (!id.success) return badRequest(res, 'id', id.error.issues[0]?.message ?? 'invalid');
      const incident = await service.getIncident(id.data);
      if (incident === null) return void res.status(404).json({ error: 'not_found', message: `no incident ${id.data}` });
      const held = await service.resolveIncident(id.data, how);
      if (held < 0)
        return void res
          .status(409)
          .json({ error: 'not_open', message: `incident ${id.data} is already resolved (${incident.resolution ?? 'unknown'})` });
      res.json({
        id: id.data,
        resolution: how === 'release' ? 'released' : 'discarded',
        [how === 'release' ? 'released' : 'discarded']: held,
      });
    });
  }

  return router;
}
