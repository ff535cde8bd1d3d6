import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ACTION_BY_CATEGORY, CATEGORIES, classifyEvent, type Category, type ClientEnvironment } from '../src/classify/index.js';

interface Case {
  clientEnvironment: ClientEnvironment;
  note: string;
  event: Record<string, unknown>;
  expect: Category;
}

const cases = JSON.parse(readFileSync(new URL('./fixtures/classify/cases.json', import.meta.url), 'utf8')) as Case[];

describe('hand-written cases (test/fixtures/classify/cases.json)', () => {
  it('cover every category and both environments with at least 60 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
    expect(new Set(cases.map((c) => c.expect))).toEqual(new Set(CATEGORIES));
    expect(new Set(cases.map((c) => c.clientEnvironment))).toEqual(new Set(['STAGE', 'PRODUCTION']));
  });

  it.each(cases.map((c) => [`${String(c.event['id'])} ${c.note}`, c] as const))('%s', (_name, c) => {
    const result = classifyEvent(c.event, { clientEnvironment: c.clientEnvironment });
    expect(result.category).toBe(c.expect);
    expect(result.action).toBe(ACTION_BY_CATEGORY[c.expect]);
    expect(result.reason.length).toBeGreaterThan(0);
  });
});
