import { createHmac, timingSafeEqual } from 'node:crypto';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../../logger.js';
import { safeError } from '../../logger.js';
import type { ProviderId } from '../../core/providers.js';
import type { LeafAlertOutcome, Metrics } from '../../metrics/metrics.js';

/** What the Leaf alert intake needs from the monitor. */
export interface LeafAlertsRouteDeps {
  /** LEAF_ALERTS_SECRET: Leaf signs every alert with it. */
  secret: string;
  /** Maps a credential id (seen while polling) to its provider and Leaf user; null when unknown. */
  lookupCredential(credentialId: string): Promise<{ provider: ProviderId; leafUserId: string } | null>;
  /** Enqueues an immediate poll of that user: the poll, not the alert, decides the category. */
  requestPoll(provider: ProviderId, leafUserId: string): Promise<void>;
  metrics: Metrics;
  logger: Logger;
}

const MAX_BODY = '64kb';
const PING_MESSAGE = /confirmation of webhook/i;

/** True when `header` is the base64 HMAC-SHA256 of `body` under `secret`; compares in constant time. */
export function verifyLeafSignature(secret: string, body: Buffer, header: string | undefined): boolean {
  if (header === undefined || header === '') return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(header.trim(), 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * `POST /leaf/alerts`: Leaf's own `credentialsUnauthenticated` / `credentialsLimitedPermission` alerts.
 * Verifies `X-Leaf-Signature` on the raw bytes (401 and nothing else on a bad or missing one), answers
 * the registration ping, and turns an alert into an immediate poll of the credential's user.
 */
export function createLeafAlertsRouter(deps: LeafAlertsRouteDeps): Router {
  const router = Router();
  const log = deps.logger.child({ component: 'leaf-alerts' });
  const count = (outcome: LeafAlertOutcome) => deps.metrics.leafAlerts.inc({ outcome }, 1);

  router.post('/leaf/alerts', express.raw({ type: () => true, limit: MAX_BODY }), async (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!verifyLeafSignature(deps.secret, body, req.get('x-leaf-signature'))) {
      count('bad_signature');
      log.warn({ bytes: body.length }, 'Leaf alert with a missing or bad X-Leaf-Signature: rejected');
      return void res.status(401).json({ error: 'bad_signature', message: 'X-Leaf-Signature does not match the body' });
    }
    let alert: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      alert = parsed as Record<string, unknown>;
    } catch {
      count('invalid');
      return void res.status(400).json({ error: 'bad_request', message: 'expected a JSON object' });
    }
    const credentialId = alert['credentialId'];
    if (typeof credentialId !== 'string' || credentialId === '') {
      if (typeof alert['message'] === 'string' && PING_MESSAGE.test(alert['message'])) {
        count('ping');
        log.info('Leaf confirmed the alert webhook registration');
        return void res.status(200).json({ status: 'ok' });
      }
      count('invalid');
      return void res.status(400).json({ error: 'bad_request', parameter: 'credentialId', message: 'credentialId: expected a string' });
    }
    const owner = await deps.lookupCredential(credentialId);
    if (owner === null) {
      count('unknown_credential');
      log.info({ credentialId, type: alert['type'] }, 'Leaf alert for a credential not seen while polling yet');
      return void res.status(202).json({ status: 'unknown_credential' });
    }
    try {
      await deps.requestPoll(owner.provider, owner.leafUserId);
    } catch (error) {
      log.error({ err: safeError(error), leafUserId: owner.leafUserId }, 'could not enqueue the poll for a Leaf alert');
      // A 5xx makes Leaf retry the alert later.
      return void res.status(503).json({ error: 'unavailable', message: 'could not enqueue the poll; retry later' });
    }
    count('accepted');
    log.info({ leafUserId: owner.leafUserId, provider: owner.provider, type: alert['type'] }, 'Leaf alert: poll requested');
    res.status(202).json({ status: 'poll_requested' });
  });

  // A body over the limit (413) or an unreadable one: answer its status, never a 500.
  router.use('/leaf/alerts', (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    const status = typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number' ? error.status : 0;
    if (status < 400 || status >= 500) return next(error);
    count('invalid');
    res
      .status(status)
      .json({ error: status === 413 ? 'too_large' : 'bad_request', message: status === 413 ? `body over ${MAX_BODY}` : 'unreadable body' });
  });

  return router;
}
