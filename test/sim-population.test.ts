import { describe, expect, it } from 'vitest';
import { CATEGORIES, type Category } from '../src/classify/categories.js';
import { isCredwatchError } from '../src/errors.js';
import { createSimulator, type SimUserView } from '../src/sim/simulator.js';
import { eventCategory, expectedCategoryOf, orderedEvents } from '../src/sim/taxonomy.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const views = (users: number, seed: number): SimUserView[] => {
  const sim = createSimulator({ users, seed, now: () => NOW });
  return sim.userIds().map((id) => {
    const view = sim.user(id);
    if (!view) throw new Error(`no user ${id}`);
    return view;
  });
};

describe('seeded population', { timeout: 60_000 }, () => {
  it('is deterministic for a seed, and user i does not depend on the population size', () => {
    const a = views(150, 42);
    const b = views(150, 42);
    expect(b).toEqual(a);
    const larger = views(300, 42).slice(0, 150);
    expect(larger).toEqual(a);
    const other = views(150, 43);
    expect(other.map((u) => u.id)).not.toEqual(a.map((u) => u.id));
    expect(new Set(a.map((u) => u.id)).size).toBe(150);
  });

  it('keeps the seed contract: --users 200 --seed 1 gives the mix docs/simulator.md shows', () => {
    expect(createSimulator({ users: 200, seed: 1 }).expected()).toEqual({
      healthy: 119,
      cognito_token_expired: 6,
      wrong_organization_code: 8,
      environment_mismatch: 9,
      missing_permission: 8,
      provider_unavailable: 12,
      not_connected: 28,
      unclassified: 10,
    });
  });

  it('has about 60% healthy, about 10% not connected and every other category', () => {
    const sim = createSimulator({ users: 20_000, seed: 9, now: () => NOW });
    const mix = sim.expected();
    expect(Object.values(mix).reduce((x, y) => x + y, 0)).toBe(20_000);
    expect(mix.healthy / 20_000).toBeGreaterThan(0.57);
    expect(mix.healthy / 20_000).toBeLessThan(0.63);
    expect(mix.not_connected / 20_000).toBeGreaterThan(0.085);
    expect(mix.not_connected / 20_000).toBeLessThan(0.115);
    for (const category of CATEGORIES) expect(mix[category], category).toBeGreaterThan(0.03 * 20_000);
  });

  it('words failures of every category in several ways and includes the taxonomy refinements', () => {
    const users = views(2500, 5);
    const wordings = new Map<Category, Set<string>>();
    let transientAfterDefinitive = 0;
    let unauthenticatedWithSuccesses = 0;
    let recovered = 0;
    let stage = 0;
    for (const user of users) {
      if (user.credential === null) {
        expect(user.expectedCategory).toBe('not_connected');
        continue;
      }
      if (user.credential.clientEnvironment === 'STAGE') stage += 1;
      const env = user.credential.clientEnvironment;
      const ordered = orderedEvents(user.events);
      const categories = ordered.map((e) => eventCategory(e, env));
      const newest = categories.at(-1);
      const failing = ordered.filter((_e, i) => categories[i] === user.expectedCategory && user.expectedCategory !== 'healthy');
      for (const event of failing) {
        const set = wordings.get(user.expectedCategory) ?? new Set<string>();
        set.add(`${String(event.statusCode)} ${event.body}`.replace(/[0-9a-f]{8,}|[A-Z]{2}\d{4}|[a-z0-9]{26}/g, '…'));
        wordings.set(user.expectedCategory, set);
      }
      if (newest === 'provider_unavailable' && user.expectedCategory !== 'provider_unavailable') transientAfterDefinitive += 1;
      if (user.credential.status === 'UNAUTHENTICATED' && categories.every((c) => c === 'healthy')) unauthenticatedWithSuccesses += 1;
      if (user.expectedCategory === 'healthy' && categories.some((c) => c !== 'healthy')) recovered += 1;
    }
    for (const category of [
      'cognito_token_expired',
      'wrong_organization_code',
      'environment_mismatch',
      'missing_permission',
      'provider_unavailable',
      'unclassified',
    ] as const) {
      expect(wordings.get(category)?.size ?? 0, category).toBeGreaterThanOrEqual(5);
    }
    expect(transientAfterDefinitive).toBeGreaterThan(0);
    expect(unauthenticatedWithSuccesses).toBeGreaterThan(0);
    expect(recovered).toBeGreaterThan(0);
    const connected = users.filter((u) => u.credential !== null).length;
    expect(stage / connected).toBeGreaterThan(0.15);
    expect(stage / connected).toBeLessThan(0.25);
  });

  it('generates events within the 30-day retention, before the start time', () => {
    for (const user of views(200, 11)) {
      for (const event of user.events) {
        const t = Date.parse(event.createdDate ?? '');
        expect(t).toBeLessThanOrEqual(NOW);
        expect(t).toBeGreaterThan(NOW - 30 * 86_400_000);
      }
    }
  });

  it('rejects bad options with a typed error naming them', () => {
    for (const bad of [
      { users: -1, seed: 1 },
      { users: 1.5, seed: 1 },
      { users: 1, seed: Number.NaN },
      { users: 1, seed: 1, tokenTtlSeconds: 0 },
    ]) {
      let caught: unknown;
      try {
        createSimulator(bad);
      } catch (error) {
        caught = error;
      }
      expect(isCredwatchError(caught, 'INPUT_INVALID')).toBe(true);
      expect((caught as Error).message).toMatch(/users|seed|tokenTtlSeconds/);
    }
  });
});

describe('simulator taxonomy', () => {
  const ev = (statusCode: number | string, body: string, headers = '') => ({ statusCode, body, headers });
  it('classifies single events by the taxonomy signals', () => {
    expect(eventCategory(ev(204, ''), 'PRODUCTION')).toBe('healthy');
    expect(eventCategory(ev('400', '{"__type": "x#NotAuthorizedException", "message": "Refresh Token has expired"}'), 'PRODUCTION')).toBe(
      'cognito_token_expired',
    );
    expect(eventCategory(ev(401, '{"message": "Unauthorized"}', 'Host: api.bananorama.com'), 'PRODUCTION')).toBe('environment_mismatch');
    expect(eventCategory(ev(401, '{"message": "Unauthorized"}', 'Host: api.bananorama.com'), 'STAGE')).toBe('cognito_token_expired');
    expect(eventCategory(ev(400, '{"error": "invalid_client"}'), 'STAGE')).toBe('environment_mismatch');
    expect(eventCategory(ev(404, '{"message": "Organization not found"}'), 'PRODUCTION')).toBe('wrong_organization_code');
    expect(eventCategory(ev(403, '{"__type": "AccessDeniedException", "message": "no"}'), 'PRODUCTION')).toBe('missing_permission');
    expect(eventCategory(ev(400, '{"__type": "TooManyRequestsException"}'), 'PRODUCTION')).toBe('provider_unavailable');
    expect(eventCategory(ev(418, "I'm a teapot"), 'PRODUCTION')).toBe('unclassified');
  });

  it('lets the newest event decide, keeps a definitive failure under transient ones, uses status as a witness', () => {
    const credential = { status: 'OK', clientEnvironment: 'PRODUCTION' as const };
    const e = (id: string, minute: number, statusCode: number, body = '') => ({
      id,
      createdDate: new Date(NOW + minute * 60_000).toISOString(),
      statusCode,
      headers: '',
      body,
    });
    const expired = '{"error": "invalid_grant"}';
    expect(expectedCategoryOf(credential, [e('b', 2, 400, expired), e('a', 1, 200)])).toBe('cognito_token_expired');
    expect(expectedCategoryOf(credential, [e('c', 3, 503), e('b', 2, 400, expired), e('a', 1, 200)])).toBe('cognito_token_expired');
    expect(expectedCategoryOf(credential, [e('c', 3, 200), e('b', 2, 400, expired)])).toBe('healthy');
    expect(expectedCategoryOf(credential, [e('c', 3, 503), e('a', 1, 200)])).toBe('provider_unavailable');
    expect(expectedCategoryOf({ ...credential, status: 'UNAUTHENTICATED' }, [e('a', 1, 200)])).toBe('cognito_token_expired');
    expect(expectedCategoryOf(credential, [])).toBe('healthy');
    expect(expectedCategoryOf(null, [])).toBe('not_connected');
    // Duplicates are dropped and order does not matter.
    expect(expectedCategoryOf(credential, [e('b', 2, 400, expired), e('a', 1, 200), e('b', 2, 400, expired)])).toBe(
      'cognito_token_expired',
    );
  });
});
