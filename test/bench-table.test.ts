import { describe, expect, it } from 'vitest';
import { formatTable } from '../src/bench/run.js';
import { benchSizes } from '../src/bench/sections.js';

describe('bench table and sizes (pure)', () => {
  it('prints one aligned row per scalar figure (null as -) and leaves out per-round arrays', () => {
    const table = formatTable({
      pipeline: { users: 1000, ratio: 0.4951, credwatch_polls_per_s: 136.5, credwatch_rounds: [148.7, 136.5] },
      rate_limit: { rate_limited_responses: 0, note: null },
    });
    expect(table.split('\n')).toEqual([
      'section     figure                  value',
      '----------  ----------------------  -----',
      'pipeline    users                   1000',
      'pipeline    ratio                   0.495',
      'pipeline    credwatch_polls_per_s   136.5',
      'rate_limit  rate_limited_responses  0',
      'rate_limit  note                    -',
      '',
    ]);
  });

  it('keeps quick runs small, full runs at 100 000 users, and lets --users size the scale section only', () => {
    expect(benchSizes(true, undefined)).toMatchObject({ pipelineUsers: 100, scaleUsers: 2000, rateLimitSeconds: 5 });
    expect(benchSizes(false, undefined)).toMatchObject({
      pipelineUsers: 1000,
      scaleUsers: 100_000,
      scaleLatencyMs: 50,
      scaleConcurrency: 200,
    });
    expect(benchSizes(false, 20_000)).toMatchObject({ pipelineUsers: 1000, scaleUsers: 20_000 });
  });
});
