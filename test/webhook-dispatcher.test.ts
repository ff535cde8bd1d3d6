import { describe, expect, it } from 'vitest';
import type { WebhookEndpoint } from '../src/webhooks/endpoints.js';
import { endpointWants, streamEntryLists, webhookIdFor } from '../src/webhooks/dispatcher.js';
import { transition } from './helpers/webhook-fixtures.js';

describe('streamEntryLists', () => {
  const entries = [['1-0', ['t', '{}']]];
  it('reads RESP2, RESP3 (legacy flattened) and RESP3 (object) XREADGROUP replies', () => {
    expect(streamEntryLists([['p:outbox', entries]])).toEqual([entries]);
    expect(streamEntryLists(['p:outbox', entries])).toEqual([entries]);
    expect(streamEntryLists({ 'p:outbox': entries })).toEqual([entries]);
    expect(streamEntryLists(null)).toEqual([]);
    expect(streamEntryLists([])).toEqual([]);
  });
});

describe('webhookIdFor', () => {
  it('is stable per transition and endpoint and differs otherwise', () => {
    expect(webhookIdFor('t1', 'app')).toBe(webhookIdFor('t1', 'app'));
    expect(webhookIdFor('t1', 'app')).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(new Set([webhookIdFor('t1', 'app'), webhookIdFor('t2', 'app'), webhookIdFor('t1', 'ops'), webhookIdFor('t1a', 'pp')]).size).toBe(
      4,
    );
  });
});

describe('endpointWants', () => {
  const base: WebhookEndpoint = { name: 'e', url: 'https://e.example', secrets: ['whsec_AAAA'], filters: {} };
  const t = transition('cognito_token_expired', 'healthy');
  const recovered = { type: 'credential.recovered' as const, category: 'cognito_token_expired' as const };
  it('matches categories on the failing category a recovery is about', () => {
    expect(endpointWants({ ...base, filters: { categories: ['cognito_token_expired'] } }, t, recovered)).toBe(true);
    expect(endpointWants({ ...base, filters: { categories: ['missing_permission'] } }, t, recovered)).toBe(false);
  });
  it('filters on events, providers and environments; a missing environment never matches a filter', () => {
    expect(endpointWants({ ...base, filters: { events: ['credential.action_required'] } }, t, recovered)).toBe(false);
    expect(endpointWants({ ...base, filters: { providers: ['john_deere'] } }, t, recovered)).toBe(false);
    expect(endpointWants({ ...base, filters: { environments: ['STAGE'] } }, t, recovered)).toBe(false);
    expect(endpointWants({ ...base, filters: { environments: ['PRODUCTION'] } }, t, recovered)).toBe(true);
    expect(endpointWants({ ...base, filters: { environments: ['PRODUCTION'] } }, { ...t, clientEnvironment: null }, recovered)).toBe(false);
    expect(endpointWants(base, t, recovered)).toBe(true);
  });
});
