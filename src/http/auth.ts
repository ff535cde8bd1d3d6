import { timingSafeEqual, createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

function sameSecret(given: string, expected: string): boolean {
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token a request presents: `Authorization: Bearer T`, or HTTP Basic with T as the password. */
export function presentedToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.split(/\s+/, 2);
  if (!scheme || !value) return undefined;
  if (scheme.toLowerCase() === 'bearer') return value;
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? undefined : decoded.slice(colon + 1);
  }
  return undefined;
}

/**
 * Guards admin routes. Without a configured token the routes answer 404 (the API is off); with one, a
 * missing or wrong token gets 401 (with a Basic challenge when `browser` so a browser asks for it).
 */
export function requireAdmin(adminToken: string | undefined, options: { browser?: boolean } = {}) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (adminToken === undefined) {
      res.status(404).json({ error: 'admin_api_disabled', message: 'the admin API is off: set CREDWATCH_ADMIN_TOKEN to enable it' });
      return;
    }
    const token = presentedToken(req.headers.authorization);
    if (token !== undefined && sameSecret(token, adminToken)) {
      next();
      return;
    }
    if (options.browser) res.setHeader('WWW-Authenticate', 'Basic realm="credwatch", charset="UTF-8"');
    res.status(401).json({ error: 'unauthorized', message: 'send Authorization: Bearer <CREDWATCH_ADMIN_TOKEN>' });
  };
}
