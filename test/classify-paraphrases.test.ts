import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATEGORIES, classifyEvent, type Category, type ClientEnvironment } from '../src/classify/index.js';

interface Case {
  clientEnvironment: ClientEnvironment;
  note: string;
  event: Record<string, unknown>;
  expect: Category;
}

// Wordings written apart from the rules and from cases.json, as a check that the rules generalise: other case
// styles of codes, AWS/JHipster/XML shapes, negations, sharing and permission wording, transient look-alikes.
const cases = JSON.parse(readFileSync(new URL('./fixtures/classify/paraphrases.json', import.meta.url), 'utf8')) as Case[];

describe('paraphrases (test/fixtures/classify/paraphrases.json)', () => {
  it('cover every category', () => {
    expect(new Set(cases.map((c) => c.expect))).toEqual(new Set(CATEGORIES));
  });

  it.each(cases.map((c) => [`${String(c.event['id'])} ${c.note}`, c] as const))('%s', (_name, c) => {
    expect(classifyEvent(c.event, { clientEnvironment: c.clientEnvironment }).category).toBe(c.expect);
  });
});
