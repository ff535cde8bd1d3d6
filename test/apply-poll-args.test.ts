import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { APPLY_POLL_ARGS, applyPollArgv } from '../src/monitor/apply-poll-args.js';
import { DEFAULT_INTERVALS } from '../src/monitor/poll-schedule.js';

const LUA = readFileSync(new URL('../src/monitor/scripts/apply-poll.lua', import.meta.url), 'utf8');
const code = LUA.split('\n')
  .filter((line) => !line.trimStart().startsWith('--'))
  .join('\n');
const header = LUA.split('\n')
  .filter((line) => line.startsWith('--'))
  .join('\n');

describe('apply-poll.lua arguments', () => {
  it('reads every argument by its name in APPLY_POLL_ARGS, none by position', () => {
    const used = new Set([...code.matchAll(/\bARG\.([A-Za-z]+)/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual([...APPLY_POLL_ARGS].sort());
    expect(code).not.toMatch(/ARGV\[/);
  });

  it('documents the arguments at the top of the file in APPLY_POLL_ARGS order', () => {
    const positions = APPLY_POLL_ARGS.map((name) => header.search(new RegExp(`\\b${name}\\b`)));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('builds one value per name, at its name position', () => {
    const argv = applyPollArgv(
      {
        provider: 'panorama',
        leafUserId: 'u1',
        observedAtMs: 5_000,
        credentialId: null,
        clientEnvironment: 'PRODUCTION',
        category: 'cognito_token_expired',
        action: 'reauthenticate',
        since: '2026-11-01T00:00:00Z',
        ruleId: 'r',
        reason: 'why',
        evidence: { eventId: 'e1', statusCode: 401, excerpt: 'x' },
        cursorMs: null,
        lastEventId: 'e1',
        leafRequests: 3,
      },
      new Date(10_000),
      { prefix: 'p', historyLimit: 7, intervals: DEFAULT_INTERVALS },
    );
    expect(argv).toHaveLength(APPLY_POLL_ARGS.length);
    const at = (name: (typeof APPLY_POLL_ARGS)[number]) => argv[APPLY_POLL_ARGS.indexOf(name)];
    expect([at('prefix'), at('leafUserId'), at('credentialId'), at('cursorMs'), at('historyLimit')]).toEqual(['p', 'u1', '', '', '7']);
    expect([at('since'), at('sinceMs'), at('evidenceStatus'), at('scheduleClass'), at('leafRequests')]).toEqual([
      '2026-11-01T00:00:00.000Z',
      String(Date.parse('2026-11-01T00:00:00Z')),
      '401',
      'failing',
      '3',
    ]);
    expect(at('credentialFetchedAtMs')).toBe('');
  });
});
