import { Router, type Response } from 'express';
import { z } from 'zod';
import { isCredwatchError } from '../../errors.js';
import type { DeadLetter } from '../../webhooks/dead-letters.js';
import type { WebhookService } from '../../webhooks/webhook-service.js';

/** The part of the webhook service the admin API uses. */
export type WebhooksRouteService = Pick<
  WebhookService,
  'endpointsState' | 'listDeadLetters' | 'redeliver' | 'enableEndpoint' | 'replay' | 'listDeliveries'
>;

const listQuery = z.strictObject({
  endpoint: z
    .string()
    .regex(/^[a-z0-9_-]{1,40}$/, 'expected an endpoint name')
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .regex(/^\d{1,9}$/, 'expected the nextCursor of a previous page')
    .optional(),
});
const deadLetterId = z.string().regex(/^msg_[a-f0-9]{32}$/, 'expected a dead letter id (msg_ and 32 hex digits)');
const endpointName = z.string().regex(/^[a-z0-9_-]{1,40}$/, 'expected an endpoint name');
const replayQuery = z.strictObject({
  since: z
    .string()
    .refine((v) => /^\d{4}-\d{2}-\d{2}T/.test(v) && Number.isFinite(Date.parse(v)), 'expected an ISO 8601 time, e.g. 2026-11-02T10:00:00Z'),
});
const deliveriesQuery = z.strictObject({
  endpoint: z
    .string()
    .regex(/^[a-z0-9_-]{1,40}$/, 'expected an endpoint name')
    .optional(),
  credential: z
    .string()
    .regex(/^[A-Za-z0-9_.:@-]{1,200}$/, 'expected a Leaf user id, provider:leafUserId or a credential id')
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

function badRequest(res: Response, error: z.ZodError, fallback: string, known = 'endpoint, limit, cursor'): void {
  const issue = error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const parameter = issue.keys[0] ?? fallback;
    return void res.status(400).json({ error: 'bad_request', parameter, message: `${parameter}: unknown parameter (expected ${known})` });
  }
  const parameter = String(issue?.path[0] ?? fallback);
  res.status(400).json({ error: 'bad_request', parameter, message: `${parameter}: ${issue?.message ?? 'invalid'}` });
}

/** A dead letter as the API shows it: the payload parsed, so a reader sees what the app would get. */
function deadLetterView(d: DeadLetter) {
  let payload: unknown;
  try {
    payload = JSON.parse(d.body) as unknown;
  } catch {
    payload = null;
  }
  return {
    id: d.id,
    endpoint: d.endpoint,
    type: d.type,
    transitionId: d.transitionId,
    attempts: d.attempts,
    lastError: d.lastError,
    failedAt: d.failedAt,
    redeliveries: d.redeliveries,
    payload,
  };
}

/**
 * `GET /api/webhooks/endpoints`, `POST /api/webhooks/endpoints/:name/enable`,
 * `POST /api/webhooks/endpoints/:name/replay?since=`, `GET /api/webhooks/deliveries`,
 * `GET /api/webhooks/dead-letters`, `POST /api/webhooks/dead-letters/:id/redeliver` (behind the admin token).
 */
export function createWebhooksRouter(service: WebhooksRouteService): Router {
  const router = Router();

  router.get('/api/webhooks/endpoints', async (_req, res) => {
    res.json({ endpoints: await service.endpointsState() });
  });

  router.post('/api/webhooks/endpoints/:name/enable', async (req, res) => {
    const name = endpointName.safeParse(req.params['name']);
    if (!name.success) return badRequest(res, name.error, 'name');
    try {
      await service.enableEndpoint(name.data);
    } catch (error) {
      if (isCredwatchError(error, 'WEBHOOK_ENDPOINT_UNKNOWN'))
        return void res.status(404).json({ error: 'not_found', message: error.message });
      throw error;
    }
    res.json({ name: name.data, disabled: false });
  });

  router.post('/api/webhooks/endpoints/:name/replay', async (req, res) => {
    const name = endpointName.safeParse(req.params['name']);
    if (!name.success) return badRequest(res, name.error, 'name');
    const query = replayQuery.safeParse(req.query);
    if (!query.success) return badRequest(res, query.error, 'since', 'since');
    try {
      res.status(202).json(await service.replay(name.data, Date.parse(query.data.since)));
    } catch (error) {
      if (isCredwatchError(error, 'WEBHOOK_ENDPOINT_UNKNOWN'))
        return void res.status(404).json({ error: 'not_found', message: error.message });
      if (isCredwatchError(error, 'WEBHOOK_ENDPOINT_DISABLED'))
        return void res.status(409).json({ error: 'endpoint_disabled', message: error.message });
      throw error;
    }
  });

  router.get('/api/webhooks/deliveries', async (req, res) => {
    const query = deliveriesQuery.safeParse(req.query);
    if (!query.success) return badRequest(res, query.error, 'query', 'endpoint, credential, limit');
    try {
      res.json({ items: await service.listDeliveries(query.data) });
    } catch (error) {
      if (isCredwatchError(error, 'WEBHOOK_ENDPOINT_UNKNOWN'))
        return void res.status(400).json({ error: 'bad_request', parameter: 'endpoint', message: `endpoint: ${error.message}` });
      throw error;
    }
  });

  router.get('/api/webhooks/dead-letters', async (req, res) => {
    const query = listQuery.safeParse(req.query);
    if (!query.success) return badRequest(res, query.error, 'query');
    try {
      const page = await service.listDeadLetters(query.data);
      res.json({ items: page.items.map(deadLetterView), nextCursor: page.nextCursor });
    } catch (error) {
      if (isCredwatchError(error, 'WEBHOOK_ENDPOINT_UNKNOWN'))
        return void res.status(400).json({ error: 'bad_request', parameter: 'endpoint', message: `endpoint: ${error.message}` });
      throw error;
    }
  });

  router.post('/api/webhooks/dead-letters/:id/redeliver', async (req, res) => {
    const id = deadLetterId.safeParse(req.params['id']);
    if (!id.success) return badRequest(res, id.error, 'id');
    try {
      res.status(202).json(await service.redeliver(id.data));
    } catch (error) {
      if (isCredwatchError(error, 'DEAD_LETTER_NOT_FOUND'))
        return void res.status(404).json({ error: 'not_found', message: error.message });
      if (isCredwatchError(error, 'WEBHOOK_ENDPOINT_UNKNOWN'))
        return void res.status(409).json({ error: 'endpoint_unknown', message: error.message });
      throw error;
    }
  });

  return router;
}
