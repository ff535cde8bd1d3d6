import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { sendLeafError } from './leaf-response.js';

const THIRTY_DAYS_S = 30 * 24 * 3600;
const ONE_DAY_S = 24 * 3600;

/** Signs and checks the simulator's HS256 JWTs with a key drawn when the simulator is created. */
export class TokenIssuer {
  private readonly key = randomBytes(32);

  constructor(private readonly now: () => number) {}

  /** A compact JWT with `sub`, `auth`, `iat` and `exp`. */
  issue(subject: string, ttlSeconds: number): string {
    const iat = Math.floor(this.now() / 1000);
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: subject, auth: 'ROLE_USER', iat, exp: iat + ttlSeconds })).toString('base64url');
    return `${header}.${payload}.${this.sign(`${header}.${payload}`)}`;
  }

  /** Why a token is not acceptable, or null when it is valid and unexpired. */
  problem(token: string): string | null {
    const parts = token.split('.');
    const [header, payload, signature] = parts;
    if (parts.length !== 3 || header === undefined || payload === undefined || signature === undefined) return 'malformed token';
    const expected = Buffer.from(this.sign(`${header}.${payload}`));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid signature';
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return 'malformed token';
    }
    const exp = typeof claims === 'object' && claims !== null && 'exp' in claims ? claims.exp : undefined;
    if (typeof exp !== 'number') return 'malformed token';
    if (exp * 1000 <= this.now()) return 'token expired';
    return null;
  }

  private sign(input: string): string {
    return createHmac('sha256', this.key).update(input).digest('base64url');
  }
}

/** `POST /api/authenticate`: checks the configured username/password and returns `{id_token}`. */
export function authenticateHandler(
  issuer: TokenIssuer,
  account: { username: string; password: string; tokenTtlSeconds: number | undefined },
): RequestHandler {
  return (req: Request, res: Response) => {
    const body: unknown = req.body;
    const field = (name: string): unknown =>
      typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
    const username = field('username');
    const password = field('password');
    if (typeof username !== 'string' || typeof password !== 'string') {
      sendLeafError(res, 400, 'username and password are required', 'badcredentials');
      return;
    }
    if (!sameText(username, account.username) || !sameText(password, account.password)) {
      sendLeafError(res, 401, 'Bad credentials', 'badcredentials');
      return;
    }
    const remember = field('rememberMe') === 'true' || field('rememberMe') === true;
    const ttl = account.tokenTtlSeconds ?? (remember ? THIRTY_DAYS_S : ONE_DAY_S);
    res.json({ id_token: issuer.issue(username, ttl) });
  };
}

/** Requires `Authorization: Bearer <valid unexpired token>`; else a Leaf 401 body. */
export function requireBearer(issuer: TokenIssuer): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) {
      sendLeafError(res, 401, 'Full authentication is required to access this resource', 'unauthorized');
      return;
    }
    const problem = issuer.problem(match[1]);
    if (problem !== null) {
      sendLeafError(res, 401, problem === 'token expired' ? 'JWT expired' : 'Invalid JWT token', 'unauthorized');
      return;
    }
    next();
  };
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
