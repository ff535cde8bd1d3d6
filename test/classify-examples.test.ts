import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyEvent, CATEGORIES, type Category, type ClientEnvironment } from '../src/classify/index.js';

interface Example {
  clientEnvironment: ClientEnvironment;
  event: Record<string, unknown>;
  expect: Category;
}

const examples = JSON.parse(readFileSync(new URL('./fixtures/panorama-events.json', import.meta.url), 'utf8')) as Example[];

describe('shared Panorama examples (test/fixtures/panorama-events.json)', () => {
  it('holds the 22 examples of the shared file, each with a known category', () => {
    expect(examples).toHaveLength(22);
    for (const example of examples) expect(CATEGORIES).toContain(example.expect);
  });

  it.each(examples.map((e) => [String(e.event['id']), e] as const))('%s gets its expected category', (_id, example) => {
    const result = classifyEvent(example.event, { clientEnvironment: example.clientEnvironment });
    expect(result.category).toBe(example.expect);
    expect(result.evidence.eventId).toBe(example.event['id']);
  });
});
