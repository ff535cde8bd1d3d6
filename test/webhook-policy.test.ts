import { describe, expect, it } from 'vitest';
import type { Category } from '../src/classify/categories.js';
import { decideNotification, type LastNotified } from '../src/webhooks/notification-policy.js';

const HOUR = 3_600_000;
const NOW = 1_800_000_000_000;
const opts = { cooldownMs: HOUR, notifyUnclassified: false, now: NOW };
const AR = 'credential.action_required' as const;
const REC = 'credential.recovered' as const;
const sent = (type: LastNotified['type'], category: Category, agoMs: number): LastNotified => ({ type, category, atMs: NOW - agoMs });

describe('decideNotification', () => {
  it.each<[Category | null, Category, LastNotified | null, string | null]>([
    // [from, to, last notification, expected type]
    ['healthy', 'cognito_token_expired', null, AR],
    ['healthy', 'wrong_organization_code', null, AR],
    ['healthy', 'environment_mismatch', null, AR],
    ['healthy', 'missing_permission', null, AR],
    ['healthy', 'not_connected', null, AR],
    ['healthy', 'provider_unavailable', null, null],
    ['healthy', 'unclassified', null, null],
    [null, 'cognito_token_expired', null, AR],
    [null, 'healthy', null, null],
    [null, 'provider_unavailable', null, null],
    ['cognito_token_expired', 'healthy', sent(AR, 'cognito_token_expired', 10 * HOUR), REC],
    ['cognito_token_expired', 'healthy', sent(AR, 'cognito_token_expired', 60_000), REC],
    ['provider_unavailable', 'healthy', sent(AR, 'cognito_token_expired', 60_000), REC],
    ['provider_unavailable', 'healthy', null, null],
    ['provider_unavailable', 'healthy', sent(REC, 'cognito_token_expired', 60_000), null],
    ['cognito_token_expired', 'healthy', null, REC],
    ['unclassified', 'healthy', null, null],
    ['cognito_token_expired', 'provider_unavailable', sent(AR, 'cognito_token_expired', 60_000), null],
    // flapping back within the cool-down: the apps already know.
    ['provider_unavailable', 'cognito_token_expired', sent(AR, 'cognito_token_expired', HOUR - 1), null],
    ['unclassified', 'cognito_token_expired', sent(AR, 'cognito_token_expired', 60_000), null],
    // after the cool-down: a new notification.
    ['provider_unavailable', 'cognito_token_expired', sent(AR, 'cognito_token_expired', HOUR), AR],
    // a different category is news, inside the cool-down too.
    ['cognito_token_expired', 'missing_permission', sent(AR, 'cognito_token_expired', 60_000), AR],
    // the apps were told it recovered: a new failure is news.
    ['healthy', 'cognito_token_expired', sent(REC, 'cognito_token_expired', 60_000), AR],
    // not_connected is sent once, whatever the time.
    ['provider_unavailable', 'not_connected', sent(AR, 'not_connected', 100 * HOUR), null],
  ])('%s → %s (last %j) sends %s', (from, to, last, expected) => {
    expect(decideNotification({ from, to }, last, opts)?.type ?? null).toBe(expected);
  });

  it('sends action_required for unclassified only when configured', () => {
    expect(decideNotification({ from: 'healthy', to: 'unclassified' }, null, { ...opts, notifyUnclassified: true })).toEqual({
      type: AR,
      category: 'unclassified',
    });
    expect(decideNotification({ from: 'unclassified', to: 'healthy' }, null, { ...opts, notifyUnclassified: true })).toEqual({
      type: REC,
      category: 'unclassified',
    });
  });

  it('says which failing category a recovery is about', () => {
    expect(decideNotification({ from: 'provider_unavailable', to: 'healthy' }, sent(AR, 'missing_permission', 5), opts)).toEqual({
      type: REC,
      category: 'missing_permission',
    });
  });
});
