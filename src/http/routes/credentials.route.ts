import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { CATEGORIES, needsAction } from '../../classify/categories.js';
import type { ProviderId } from '../../core/providers.js';
import type { CredentialStore, CredentialState } from '../../monitor/credential-store.js';
import type { CapacityReport } from '../../monitor/capacity.js';

/** What the credentials API needs from the monitor. */
export interface CredentialsRouteDeps {
  store: CredentialStore;
  providers: readonly ProviderId[];
  requestPoll(provider: ProviderId, leafUserId: string): Promise<void>;
  /** What the Leaf request budget allows (in /api/summary as `capacity`). */
  capacity?: () => Promise<CapacityReport>;
}

function badRequest(res: Response, error: z.ZodError): void {
  const issue = error.issues[0];
  const parameter = String(issue?.path[0] ?? 'query');
  res.status(400).json({ error: 'bad_request', parameter, message: `${parameter}: ${issue?.message ?? 'invalid'}` });
}

/** The API's view of a credential (every field safe: evidence is redacted before it is stored). */
export function credentialView(s: CredentialState) {
  return {
    leafUserId: s.leafUserId,
    provider: s.provider,
    credentialId: s.credentialId,
    clientEnvironment: s.clientEnvironment,
    category: s.category,
    action: s.action,
    since: s.since,
    lastPolledAt: s.lastPolledAt,
    ruleId: s.ruleId,
    reason: s.reason,
    evidence: s.evidence,
    consecutiveFailures: s.consecutiveFailures,
    removedAt: s.removedAt,
    grower: s.grower ?? null,
  };
}

/** `/api/summary`, `/api/credentials`, `/api/credentials/:leafUserId`, `POST .../poll`. */
export function createCredentialsRouter(deps: CredentialsRouteDeps): Router {
  const router = Router();
  const provider = z.enum(deps.providers as [ProviderId, ...ProviderId[]]).default(deps.providers[0] ?? 'panorama');
  const listQuery = z.strictObject({
    provider,
    category: z.enum(CATEGORIES).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().min(1).max(300).optional(),
    externalId: z.string().min(1).max(200).optional(),
  });
  const oneQuery = z.strictObject({ provider });
  const userId = z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^/\s]+$/, 'expected a Leaf user id');

  router.get('/api/summary', async (_req, res) => {
    const [counts, sweep, capacity] = await Promise.all([
      deps.store.counts(),
      deps.store.sweeps.info(),
      deps.capacity ? deps.capacity().catch(() => null) : Promise.resolve(undefined),
    ]);
    const byProvider: Record<string, Record<string, number>> = {};
    const byCategory: Record<string, number> = Object.fromEntries(CATEGORIES.map((c) => [c, 0]));
    let total = 0;
    let needingAction = 0;
    for (const row of counts) {
      (byProvider[row.provider] ??= {})[row.category] = row.count;
      byCategory[row.category] = (byCategory[row.category] ?? 0) + row.count;
      total += row.count;
      if (needsAction(row.category, true)) needingAction += row.count;
    }
    res.json({
      total,
      needingAction,
      categories: byCategory,
      providers: byProvider,
      sweep,
      ...(capacity === undefined ? {} : { capacity }),
    });
  });

  router.get('/api/credentials', async (req: Request, res: Response) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) return badRequest(res, q.error);
    if (q.data.externalId !== undefined) {
      // The app's own grower id: an exact match through the externalId index (a handful of users at most).
      const found = await deps.store.findByExternalId(q.data.provider, q.data.externalId);
      const items = found.filter((s) => q.data.category === undefined || s.category === q.data.category).slice(0, q.data.limit);
      res.json({ items: items.map(credentialView), nextCursor: null });
      return;
    }
    const page = await deps.store.list({
      provider: q.data.provider,
      category: q.data.category,
      limit: q.data.limit,
      cursor: q.data.cursor,
    });
    res.json({ items: page.items.map(credentialView), nextCursor: page.nextCursor });
  });

  router.get('/api/credentials/:leafUserId', async (req: Request, res: Response) => {
    const q = oneQuery.safeParse(req.query);
    if (!q.success) return badRequest(res, q.error);
    const id = userId.safeParse(req.params['leafUserId']);
    if (!id.success) return badRequest(res, new z.ZodError(id.error.issues.map((i) => ({ ...i, path: ['leafUserId'] }))));
    const state = await deps.store.get(q.data.provider, id.data);
    if (!state) {
      res.status(404).json({ error: 'not_found', message: `no credential state for Leaf user ${id.data} (not polled yet?)` });
      return;
    }
    const history = await deps.store.history(q.data.provider, id.data);
    res.json({ ...credentialView(state), history });
  });

  router.post('/api/credentials/:leafUserId/poll', async (req: Request, res: Response) => {
    const q = oneQuery.safeParse(req.query);
    if (!q.success) return badRequest(res, q.error);
    const id = userId.safeParse(req.params['leafUserId']);
    if (!id.success) return badRequest(res, new z.ZodError(id.error.issues.map((i) => ({ ...i, path: ['leafUserId'] }))));
    await deps.requestPoll(q.data.provider, id.data);
    res.status(202).json({ status: 'queued', provider: q.data.provider, leafUserId: id.data });
  });

  return router;
}
