import type { Category } from '../classify/categories.js';
import type { Rng } from './prng.js';
import {
  ENVIRONMENT_MISMATCH,
  MISSING_PERMISSION,
  TOKEN_EXPIRED,
  UNAVAILABLE,
  UNCLASSIFIED,
  WRONG_ORGANIZATION,
  SUCCESS,
  type Exchange,
  type ExchangeContext,
} from './wording.js';

type Template = (rng: Rng, ctx: ExchangeContext) => Exchange;

/** One kind of seeded user: its expected category, its share and how its log ends. */
export interface Scenario {
  name: string;
  category: Category;
  /** Relative weight in the population (the weights sum to 1000). */
  weight: number;
  /** False when the user has no Panorama credential. */
  connected: boolean;
  /** The credential status Leaf shows. */
  status(rng: Rng): string;
  /** The exchanges after the history of successful syncs, oldest first. */
  tail(rng: Rng, ctx: ExchangeContext): Exchange[];
}

const repeat = (rng: Rng, ctx: ExchangeContext, templates: readonly Template[], min: number, max: number): Exchange[] => {
  // Leaf retries a failing credential: the same answer comes back a few times, sometimes reworded.
  const first = rng.pick(templates);
  return Array.from({ length: rng.int(min, max) }, () => (rng.chance(0.8) ? first : rng.pick(templates))(rng, ctx));
};
const ok = (): string => 'OK';
const DEFINITIVE_TEMPLATES = [TOKEN_EXPIRED, WRONG_ORGANIZATION, ENVIRONMENT_MISMATCH, MISSING_PERMISSION] as const;

/** Definitive failure followed by transient ones: the definitive category must stick. */
const thenTransient = (templates: readonly Template[]) => (rng: Rng, ctx: ExchangeContext) => [
  ...repeat(rng, ctx, templates, 1, 2),
  ...repeat(rng, ctx, UNAVAILABLE, 1, 3),
];

/** Every seeded scenario. The order is part of the seed contract: append, never reorder. */
export const SCENARIOS: readonly Scenario[] = [
  { name: 'healthy', category: 'healthy', weight: 500, connected: true, status: ok, tail: () => [] },
  {
    name: 'healthy_recovered',
    category: 'healthy',
    weight: 60,
    connected: true,
    status: ok,
    tail: (rng, ctx) => [...repeat(rng, ctx, rng.pick([...DEFINITIVE_TEMPLATES, UNCLASSIFIED]), 1, 3), ...repeat(rng, ctx, SUCCESS, 1, 3)],
  },
  {
    name: 'healthy_after_blip',
    category: 'healthy',
    weight: 40,
    connected: true,
    status: ok,
    tail: (rng, ctx) => [...repeat(rng, ctx, UNAVAILABLE, 1, 2), ...repeat(rng, ctx, SUCCESS, 1, 2)],
  },
  { name: 'not_connected', category: 'not_connected', weight: 100, connected: false, status: ok, tail: () => [] },
  {
    name: 'token_expired',
    category: 'cognito_token_expired',
    weight: 30,
    connected: true,
    status: (rng) => rng.pick(['OK', 'UNAUTHENTICATED']),
    tail: (rng, ctx) => repeat(rng, ctx, TOKEN_EXPIRED, 1, 4),
  },
  {
    name: 'token_expired_then_unavailable',
    category: 'cognito_token_expired',
    weight: 10,
    connected: true,
    status: (rng) => rng.pick(['OK', 'UNAUTHENTICATED']),
    tail: thenTransient(TOKEN_EXPIRED),
  },
  {
    name: 'unauthenticated_status_only',
    category: 'cognito_token_expired',
    weight: 10,
    connected: true,
    status: () => 'UNAUTHENTICATED',
    tail: () => [],
  },
  {
    name: 'wrong_organization',
    category: 'wrong_organization_code',
    weight: 40,
    connected: true,
    status: ok,
    tail: (rng, ctx) => repeat(rng, ctx, WRONG_ORGANIZATION, 1, 3),
  },
  {
    name: 'wrong_organization_then_unavailable',
    category: 'wrong_organization_code',
    weight: 10,
    connected: true,
    status: ok,
    tail: thenTransient(WRONG_ORGANIZATION),
  },
  {
    name: 'environment_mismatch',
    category: 'environment_mismatch',
    weight: 40,
    connected: true,
    status: (rng) => rng.pick(['OK', 'UNAUTHENTICATED']),
    tail: (rng, ctx) => repeat(rng, ctx, ENVIRONMENT_MISMATCH, 1, 3),
  },
  {
    name: 'environment_mismatch_then_unavailable',
    category: 'environment_mismatch',
    weight: 10,
    connected: true,
    status: ok,
    tail: thenTransient(ENVIRONMENT_MISMATCH),
  },
  {
    name: 'missing_permission',
    category: 'missing_permission',
    weight: 40,
    connected: true,
    status: (rng) => rng.pick(['OK', 'MISSING_PERMISSION']),
    tail: (rng, ctx) => repeat(rng, ctx, MISSING_PERMISSION, 1, 3),
  },
  {
    name: 'missing_permission_then_unavailable',
    category: 'missing_permission',
    weight: 10,
    connected: true,
    status: ok,
    tail: thenTransient(MISSING_PERMISSION),
  },
  {
    name: 'provider_unavailable',
    category: 'provider_unavailable',
    weight: 50,
    connected: true,
    status: (rng) => rng.pick(['OK', 'OK', 'TEMPORARILY_UNAVAILABLE']),
    tail: (rng, ctx) => repeat(rng, ctx, UNAVAILABLE, 1, 4),
  },
  {
    name: 'unclassified',
    category: 'unclassified',
    weight: 50,
    connected: true,
    status: ok,
    tail: (rng, ctx) => repeat(rng, ctx, UNCLASSIFIED, 1, 2),
  },
];

const TOTAL_WEIGHT = SCENARIOS.reduce((sum, s) => sum + s.weight, 0);

/** Picks a scenario index by weight from one uniform draw in [0, 1). */
export function pickScenario(draw: number): number {
  let target = draw * TOTAL_WEIGHT;
  for (let i = 0; i < SCENARIOS.length; i += 1) {
    target -= SCENARIOS[i]?.weight ?? 0;
    if (target < 0) return i;
  }
  return 0;
}

/** The scenario at an index (a stored descriptor), failing loudly on a corrupt index. */
export function scenarioAt(index: number): Scenario {
  const scenario = SCENARIOS[index];
  if (scenario === undefined) throw new RangeError(`no scenario ${index}`);
  return scenario;
}
