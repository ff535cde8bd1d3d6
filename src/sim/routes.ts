import express, { type Request, type Response, type Router } from 'express';
import type { AlertCenter } from './alerts.js';
import { sendLeafError, sendLeafJson } from './leaf-response.js';
import type { Population } from './population.js';
import type { SimUserProfile } from './types.js';

const USERS = '/services/usermanagement/api/users';
const WEBHOOKS = '/services/alerts/api/alerts/webhooks';
const DEFAULT_SIZE = 20;
const MAX_SIZE = 100;

/** A non-negative integer query parameter, its fallback when absent, or null when invalid. */
export function intParam(value: unknown, fallback: number): number | null {
  if (value === undefined || value === '') return fallback;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value)) return null;
  return Number(value);
}

/** An RFC 5988 `Link` header the way JHipster's PaginationUtil writes it (next, prev, last, first). */
export function paginationLink(baseUrl: string, query: URLSearchParams, page: number, size: number, total: number): string {
  const lastPage = Math.max(0, Math.ceil(total / size) - 1);
  const link = (p: number, rel: string) => {
    const params = new URLSearchParams(query);
    params.set('page', String(p));
    params.set('size', String(size));
    return `<${baseUrl}?${params.toString()}>; rel="${rel}"`;
  };
  const parts: string[] = [];
  if (page < lastPage) parts.push(link(page + 1, 'next'));
  if (page > 0) parts.push(link(page - 1, 'prev'));
  parts.push(link(lastPage, 'last'), link(0, 'first'));
  return parts.join(',');
}

function matches(profile: SimUserProfile, filters: { email?: string; externalId?: string; name?: string }): boolean {
  if (filters.email !== undefined && profile.email.toLowerCase() !== filters.email.toLowerCase()) return false;
  if (filters.externalId !== undefined && profile.externalId !== filters.externalId) return false;
  if (filters.name !== undefined && profile.name.toLowerCase() !== filters.name.toLowerCase()) return false;
  return true;
}

function listUsers(population: Population) {
  return (req: Request, res: Response) => {
    const page = intParam(req.query['page'], 0);
    const requested = intParam(req.query['size'], DEFAULT_SIZE);
    if (page === null || requested === null || requested === 0) {
      sendLeafError(res, 400, 'page and size must be whole numbers (size at least 1)', 'badpagination');
      return;
    }
    const size = Math.min(requested, MAX_SIZE);
    const filters: { email?: string; externalId?: string; name?: string } = {};
    for (const key of ['email', 'externalId', 'name'] as const) {
      const value = req.query[key];
      if (typeof value === 'string' && value !== '') filters[key] = value;
    }
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filters)) query.set(key, value);
    let total: number;
    let profiles: SimUserProfile[];
    if (Object.keys(filters).length === 0) {
      total = population.size;
      profiles = population.page(page, size).flatMap((id) => population.profile(id) ?? []);
    } else {
      const all = population.ids().flatMap((id) => {
        const profile = population.profile(id);
        return profile !== undefined && matches(profile, filters) ? [profile] : [];
      });
      total = all.length;
      profiles = all.slice(page * size, page * size + size);
    }
    const baseUrl = `${req.protocol}://${req.get('host') ?? 'localhost'}${USERS}`;
    res.set('X-Total-Count', String(total));
    res.set('Link', paginationLink(baseUrl, query, page, size, total));
    sendLeafJson(res, profiles);
  };
}

function credentialRoute(population: Population, what: 'credential' | 'events') {
  return (req: Request, res: Response) => {
    const id = String(req.params['id']);
    if (!population.has(id)) {
      sendLeafError(res, 404, `User ${id} not found`, 'idnotfound');
      return;
    }
    const value = what === 'credential' ? population.credential(id) : population.events(id);
    if (value === null || value === undefined) {
      sendLeafError(res, 404, 'Panorama credentials not found for this user', 'credentialsnotfound');
      return;
    }
    sendLeafJson(res, value);
  };
}

/** Every authenticated Leaf route: users, Panorama credentials and events, alert webhooks. */
export function leafRoutes(population: Population, alerts: AlertCenter): Router {
  const router = express.Router();
  router.get(USERS, listUsers(population));
  router.get(`${USERS}/:id`, (req, res) => {
    const profile = population.profile(String(req.params['id']));
    if (profile === undefined) sendLeafError(res, 404, `User ${String(req.params['id'])} not found`, 'idnotfound');
    else sendLeafJson(res, profile);
  });
  router.get(`${USERS}/:id/panorama-credentials`, credentialRoute(population, 'credential'));
  router.get(`${USERS}/:id/panorama-credentials/events`, credentialRoute(population, 'events'));
  // Other providers exist in Leaf; the simulator has no credentials for them.
  router.get([`${USERS}/:id/:provider`, `${USERS}/:id/:provider/events`], (req, res) => {
    const id = String(req.params['id']);
    if (!population.has(id)) sendLeafError(res, 404, `User ${id} not found`, 'idnotfound');
    else sendLeafError(res, 404, `${String(req.params['provider'])} not found for this user`, 'credentialsnotfound');
  });
  router.post(WEBHOOKS, express.json({ limit: '1mb' }), (req, res) => {
    const result = alerts.register(req.body);
    if ('errorKey' in result) sendLeafError(res, result.status, result.message, result.errorKey);
    else res.status(201).json(result);
  });
  router.get(WEBHOOKS, (_req, res) => {
    sendLeafJson(res, alerts.list());
  });
  router.delete(`${WEBHOOKS}/:id`, (req, res) => {
    if (alerts.remove(String(req.params['id']))) res.status(204).end();
    else sendLeafError(res, 404, 'Webhook not found', 'idnotfound');
  });
  return router;
}
