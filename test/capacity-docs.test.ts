import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { computeCapacity, requiredRps } from '../src/monitor/capacity.js';

const DOC = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
const INTERVALS: Record<string, number> = { '15m': 900_000, '1h': 3_600_000, '4h': 14_400_000 };

function sizingRows(): string[][] {
  const block = /<!-- sizing-table[^>]*-->\n([\s\S]*?)<!-- \/sizing-table -->/.exec(DOC)?.[1];
  expect(block, 'docs/operations.md has a sizing-table block').toBeDefined();
  return (block ?? '')
    .trim()
    .split('\n')
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
}

describe('docs/operations.md sizing table', () => {
  it('gives the rps requiredRps() computes for each fleet and interval, and the full pass at 10 rps', () => {
    const [header, , ...rows] = sizingRows();
    const intervals = (header ?? []).slice(1, -1).map((h) => INTERVALS[h.replace('every ', '')]);
    expect(intervals.every((i) => i !== undefined)).toBe(true);
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const row of rows) {
      const credentials = Number((row[0] ?? '').replace(/\s/g, ''));
      intervals.forEach((interval, i) => {
        const expected = (Math.ceil(requiredRps(credentials, 1.02, interval ?? 0) * 10) / 10).toFixed(1);
        expect(row[i + 1], `${credentials} credentials every ${header?.[i + 1]}`).toBe(expected);
      });
      const pass = computeCapacity({ credentials, requestsPerPoll: 1.02, rps: 10, pollIntervalMs: 900_000, providers: 1 }).fullPassSeconds;
      const shown = pass < 7200 ? `${Math.round(pass / 60)} min` : `${(pass / 3600).toFixed(1)} h`;
      expect(row[row.length - 1], `${credentials} credentials: full pass`).toBe(shown);
    }
  });
});
