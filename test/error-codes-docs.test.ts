import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';

const docs = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
/** Rows of the docs/errors.md table: code, meaning, what to do. */
const rows = docs
  .split('\n')
  .map((line) => /^\|\s*`([A-Z_]+)`\s*\|([^|]*)\|([^|]*)\|\s*$/.exec(line))
  .filter((m): m is RegExpExecArray => m !== null)
  .map((m) => ({ code: m[1] ?? '', meaning: (m[2] ?? '').trim(), todo: (m[3] ?? '').trim() }));

describe('docs/errors.md', () => {
  it('documents every error code of ERROR_CODES, and no other', () => {
    expect(rows.map((r) => r.code).sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('gives each code a meaning and what to do', () => {
    for (const row of rows) {
      expect(row.meaning.length, `${row.code}: meaning`).toBeGreaterThan(10);
      expect(row.todo.length, `${row.code}: what to do`).toBeGreaterThan(10);
    }
  });
});
