import { Router } from 'express';
import { z } from 'zod';
import type { InboxSignature } from '../../monitor/unclassified-inbox.js';

/** The part of the unclassified inbox the admin API reads. */
export interface UnclassifiedRouteInbox {
  list(limit: number): Promise<InboxSignature[]>;
  size(): Promise<number>;
  get(id: string): Promise<InboxSignature | null>;
}

const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });

/** `GET /api/unclassified` (signatures, most recently seen first) and `GET /api/unclassified/:id`. */
export function createUnclassifiedRouter(inbox: UnclassifiedRouteInbox): Router {
  const router = Router();
  router.get('/api/unclassified', async (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) {
      const issue = q.error.issues[0];
      const parameter = issue?.code === 'unrecognized_keys' ? (issue.keys[0] ?? 'limit') : String(issue?.path[0] ?? 'limit');
      res.status(400).json({
        error: 'bad_request',
        parameter,
        message: `${parameter}: ${issue?.code === 'unrecognized_keys' ? 'unknown parameter (expected limit)' : (issue?.message ?? 'invalid')}`,
      });
      return;
    }
    const [signatures, total] = await Promise.all([inbox.list(q.data.limit), inbox.size()]);
    res.json({ total, signatures, hint: 'credwatch rules suggest ID --category CATEGORY prints a rule for one signature' });
  });
  router.get('/api/unclassified/:id', async (req, res) => {
    const signature = await inbox.get(req.params.id);
    if (signature === null) {
      res.status(404).json({
        error: 'not_found',
        message: `no unclassified signature "${req.params.id.slice(0, 40)}" (ids are 12 hex digits; see GET /api/unclassified)`,
      });
      return;
    }
    res.json(signature);
  });
  return router;
}
