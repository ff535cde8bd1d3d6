import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { CLIENT_ENVIRONMENTS } from '../classify/categories.js';
import type { AlertCenter, AlertType } from './alerts.js';
import type { FaultInjector } from './faults.js';
import { applyFleetScenario, FLEET_SCENARIOS, fleetScenarioBody } from './fleet-scenarios.js';
import type { EventInput, Population } from './population.js';
import { intParam } from './routes.js';
import { eventCategory, orderedEvents } from './taxonomy.js';
import type { SimCredential } from './types.js';

const environment = z.enum(CLIENT_ENVIRONMENTS);
const credentialPatch = z.strictObject({
  status: z.string().min(1).optional(),
  clientEnvironment: environment.optional(),
  organizationCode: z.string().min(1).optional(),
});
// Every shape credwatch's client tolerates can be scripted: body or headers null, an object or absent;
// statusCode a number, a numeric string, null or absent; createdDate with 0, 3 or 6 fractional digits,
// null or absent (absent: after the newest event); any extra field.
const eventInput = z.looseObject({
  id: z.union([z.string().min(1), z.number()]).optional(),
  createdDate: z.union([z.string(), z.null()]).optional(),
  statusCode: z.union([z.number(), z.string(), z.null()]).optional(),
  headers: z.unknown().optional(),
  body: z.unknown().optional(),
});
const eventList = z.union([z.array(eventInput), z.strictObject({ events: z.array(eventInput) })]);
const newUser = z.strictObject({
  id: z.string().min(1).optional(),
  name: z.string().optional(),
  email: z.string().optional(),
  externalId: z.string().optional(),
  clientEnvironment: environment.optional(),
  credential: z
    .union([credentialPatch.extend({ clientId: z.string().min(1).optional(), username: z.string().min(1).optional() }), z.null()])
    .optional(),
  events: z.array(eventInput).optional(),
});
const faultsBody = z.strictObject({
  latencyMs: z.number().min(0).max(60_000).optional(),
  errorRate: z.number().min(0).max(1).optional(),
  malformedRate: z.number().min(0).max(1).optional(),
  rateLimitRps: z.number().int().min(0).max(1_000_000).optional(),
});

/** What the control routes act on. */
export interface ControlDeps {
  population: Population;
  alerts: AlertCenter;
  faults: FaultInjector;
  stats: () => unknown;
  resetStats: () => void;
}

type Parsed<T> = { ok: true; value: T } | { ok: false };

function parse<T>(schema: z.ZodType<T>, body: unknown, res: Response): Parsed<T> {
  const result = schema.safeParse(body);
  if (result.success) return { ok: true, value: result.data };
  const problems = result.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`);
  res.status(400).json({ error: `invalid request body: ${problems.join('; ')}` });
  return { ok: false };
}

function paging(req: Request, res: Response): { page: number; size: number } | undefined {
  const page = intParam(req.query['page'], 0);
  const size = intParam(req.query['size'], 100);
  if (page === null || size === null || size === 0 || size > 10_000) {
    res.status(400).json({ error: 'page must be a whole number from 0 and size from 1 to 10000' });
    return undefined;
  }
  return { page, size };
}

const ALERT_BY_STATUS: Readonly<Record<string, AlertType>> = {
  UNAUTHENTICATED: 'credentialsUnauthenticated',
  MISSING_PERMISSION: 'credentialsLimitedPermission',
};
const ALERT_MESSAGE: Readonly<Record<AlertType, string>> = {
  credentialsUnauthenticated: 'Panorama credentials are unauthenticated: the grower must reconnect.',
  credentialsLimitedPermission: 'Panorama credentials have limited permission: the grower must grant access.',
};

/** Sets the status, and sends Leaf's alert when it becomes UNAUTHENTICATED or MISSING_PERMISSION. */
function changeStatus(alerts: AlertCenter, credential: SimCredential, status: string, previous: string | null): void {
  credential.status = status;
  const type = ALERT_BY_STATUS[status];
  if (type !== undefined && previous !== status) alerts.notify(type, credential, ALERT_MESSAGE[type]);
}

/** The JSON control API under `/_sim`: scripts users, credentials, events and faults (no auth). */
export function controlRoutes(deps: ControlDeps): Router {
  const { population, alerts, faults } = deps;
  const router = express.Router();
  router.use(express.json({ limit: '64mb' }));
  const notFound = (res: Response, id: string) => res.status(404).json({ error: `no user ${id}` });

  router.post('/users', (req, res) => {
    const body = parse(newUser, req.body ?? {}, res);
    if (!body.ok) return;
    try {
      const { events, credential, ...rest } = body.value;
      const id = population.create({
        ...stripUndefined(rest),
        ...(credential === undefined ? {} : { credential: credential === null ? null : stripUndefined(credential) }),
        ...(events === undefined ? {} : { events: events.map((e) => stripUndefined(e) as EventInput) }),
      });
      res.status(201).json({ id });
    } catch (error) {
      res.status(409).json({ error: (error as Error).message });
    }
  });
  router.get('/users', (req, res) => {
    const p = paging(req, res);
    if (p) res.json({ total: population.size, page: p.page, size: p.size, ids: population.page(p.page, p.size) });
  });
  router.get('/users/:id', (req, res) => {
    const view = population.view(req.params.id);
    if (view === undefined) notFound(res, req.params.id);
    else res.json(view);
  });
  router.delete('/users/:id', (req, res) => {
    if (population.remove(req.params.id)) res.status(204).end();
    else notFound(res, req.params.id);
  });
  router.put('/users/:id/credential', (req, res) => {
    const body = parse(credentialPatch, req.body ?? {}, res);
    if (!body.ok) return;
    const { status, ...other } = body.value;
    const result = population.putCredential(req.params.id, stripUndefined(other));
    if (result === undefined) {
      notFound(res, req.params.id);
      return;
    }
    if (status !== undefined) changeStatus(alerts, result.credential, status, result.previousStatus);
    res.json({ credential: result.credential, expectedCategory: population.expectedCategory(req.params.id) });
  });
  router.delete('/users/:id/credential', (req, res) => {
    if (population.deleteCredential(req.params.id)) res.status(204).end();
    else notFound(res, req.params.id);
  });
  router.post('/users/:id/events', (req, res) => {
    const body = parse(eventList, req.body, res);
    if (!body.ok) return;
    const inputs = (Array.isArray(body.value) ? body.value : body.value.events).map((e) => stripUndefined(e) as EventInput);
    let added;
    try {
      added = population.appendEvents(req.params.id, inputs);
    } catch (error) {
      res.status(409).json({ error: (error as Error).message });
      return;
    }
    if (added === undefined) {
      notFound(res, req.params.id);
      return;
    }
    followNewestEvent(population, alerts, req.params.id, new Set(added.map((e) => e.id)));
    const view = population.view(req.params.id);
    res.status(201).json({ events: view?.events ?? [], expectedCategory: view?.expectedCategory });
  });
  router.put('/faults', (req, res) => {
    const body = parse(faultsBody, req.body ?? {}, res);
    if (body.ok) res.json(faults.set(stripUndefined(body.value)));
  });
  router.get('/faults', (_req, res) => {
    res.json(faults.get());
  });
  router.get('/stats', (_req, res) => {
    res.json(deps.stats());
  });
  router.post('/stats/reset', (_req, res) => {
    deps.resetStats();
    res.json(deps.stats());
  });
  router.get('/expected', (req, res) => {
    const p = paging(req, res);
    if (!p) return;
    const users = population.page(p.page, p.size).map((id) => ({
      id,
      expectedCategory: population.expectedCategory(id),
      scenario: population.scenarioName(id),
    }));
    res.json({ total: population.size, mix: population.mix(), page: p.page, size: p.size, users });
  });
  router.get('/alerts', (_req, res) => {
    res.json({ webhooks: alerts.list(), deliveries: alerts.deliveries() });
  });
  router.post('/fleet/:scenario', (req, res) => {
    const scenario = FLEET_SCENARIOS.find((s) => s.name === req.params.scenario);
    if (scenario === undefined) {
      res
        .status(404)
        .json({ error: `no fleet scenario ${req.params.scenario}; expected one of ${FLEET_SCENARIOS.map((s) => s.name).join(', ')}` });
      return;
    }
    const body = parse(fleetScenarioBody, req.body ?? {}, res);
    if (!body.ok) return;
    const users = applyFleetScenario(population, scenario, body.value, (id, added) => followNewestEvent(population, alerts, id, added));
    res.json({ scenario: scenario.name, affected: users.length, users });
  });
  router.get('/fleet', (_req, res) => {
    res.json({ scenarios: FLEET_SCENARIOS.map((s) => ({ name: s.name, description: s.description, event: s.event })) });
  });
  router.use((req, res) => {
    res.status(404).json({ error: `no control route ${req.method} /_sim${req.path}` });
  });
  return router;
}

/**
 * Leaf's status follows the newest exchange when it was appended now: an auth failure makes the
 * credential UNAUTHENTICATED, a permission failure MISSING_PERMISSION (each with its alert), a 2xx OK.
 */
function followNewestEvent(population: Population, alerts: AlertCenter, id: string, appended: Set<string>): void {
  const credential = population.credential(id);
  const events = population.events(id);
  if (!credential || !events) return;
  const newest = orderedEvents(events).at(-1);
  if (newest === undefined || !appended.has(newest.id)) return;
  const category = eventCategory(newest, credential.clientEnvironment);
  const previous = credential.status;
  if (category === 'cognito_token_expired') changeStatus(alerts, credential, 'UNAUTHENTICATED', previous);
  else if (category === 'missing_permission') changeStatus(alerts, credential, 'MISSING_PERMISSION', previous);
  else if (category === 'healthy') credential.status = 'OK';
}

/** Drops undefined fields (zod output vs. exactOptionalPropertyTypes). */
function stripUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
