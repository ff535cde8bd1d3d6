import { z } from 'zod';
import type { Population } from './population.js';

/** A fleet-wide change: every targeted credential gets the same answer from the provider. */
export interface FleetScenario {
  name: string;
  description: string;
  /** The exchange appended to each targeted credential's log. */
  event: { statusCode: number; body: string };
}

/** The fleet scenarios of `POST /_sim/fleet/{name}` (docs/simulator.md). */
export const FLEET_SCENARIOS: readonly FleetScenario[] = [
  {
    name: 'partner-password-changed',
    description: "The partner account's password was changed: Cognito refuses every grower connection the same way.",
    event: { statusCode: 400, body: '{"__type":"NotAuthorizedException","message":"Incorrect username or password."}' },
  },
  {
    name: 'app-client-rotated',
    description: 'The partner app client was rotated: Cognito no longer knows the clientId.',
    event: {
      statusCode: 400,
      body: '{"__type":"ResourceNotFoundException","message":"User pool client 5k2lq7c0ohtbq1ck4v8o3ba1ea does not exist."}',
    },
  },
  {
    name: 'panorama-outage',
    description: "Panorama's Cognito answers 503 to every exchange.",
    event: { statusCode: 503, body: '{"__type":"InternalErrorException","message":"Service Unavailable. Please try again later."}' },
  },
  {
    name: 'recover',
    description: 'The cause is fixed: every targeted credential syncs successfully again.',
    event: { statusCode: 200, body: '{"organizations":[]}' },
  },
];

/** Body of `POST /_sim/fleet/{name}`: explicit users, or the first `count` connected users (default all). */
export const fleetScenarioBody = z.strictObject({
  users: z.array(z.string().min(1)).max(1_000_000).optional(),
  count: z.number().int().min(1).max(1_000_000).optional(),
});

/**
 * Applies a fleet scenario: appends its exchange (now) to each targeted connected user's log and lets
 * `onAppended` follow the newest event (status and Leaf alerts). Returns the affected user ids.
 */
export function applyFleetScenario(
  population: Population,
  scenario: FleetScenario,
  target: z.infer<typeof fleetScenarioBody>,
  onAppended: (id: string, eventIds: Set<string>) => void,
): string[] {
  const ids: string[] = [];
  const limit = target.count ?? Number.POSITIVE_INFINITY;
  const candidates = target.users ?? allIds(population);
  for (const id of candidates) {
    if (ids.length >= limit) break;
    const credential = population.credential(id);
    if (credential === null || credential === undefined) continue;
    const added = population.appendEvents(id, [
      { statusCode: scenario.event.statusCode, body: scenario.event.body, createdDate: new Date().toISOString() },
    ]);
    if (added === undefined) continue;
    onAppended(id, new Set(added.map((e) => e.id)));
    ids.push(id);
  }
  return ids;
}

function* allIds(population: Population): Generator<string> {
  const size = 1000;
  for (let page = 0; page * size < population.size; page += 1) yield* population.page(page, size);
}
