import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';

const EXAMPLES = new URL('./fixtures/panorama-events.json', import.meta.url).pathname;
const CASES = new URL('./fixtures/classify/cases.json', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'credwatch-classify-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function run(argv: string[], stdinText?: string, stdinIsTTY = false): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdin = Readable.from(stdinText === undefined ? [] : [Buffer.from(stdinText)]) as Readable & { isTTY?: boolean };
  if (stdinIsTTY) stdin.isTTY = true;
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runCli(argv, { stdin, stdout, stderr, env: {}, signal: new AbortController().signal });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const events = [
  { id: 'b', createdDate: '2026-11-02T10:00:00.000Z', statusCode: 200, headers: '', body: '{}' },
  {
    id: 'a',
    createdDate: '2026-11-02T09:00:00Z',
    statusCode: '400',
    headers: '',
    body: '{"__type":"NotAuthorizedException","message":"Refresh Token has expired"}',
  },
  { id: 'c', createdDate: '2026-11-02T11:00:00.000001Z', statusCode: 503, headers: '', body: '<html><title>503</title></html>' },
  { id: 'd', createdDate: '2026-11-02T12:00:00.000Z', statusCode: 400, headers: '', body: '{"error":"invalid_grant"}' },
  { id: 'd', createdDate: '2026-11-02T12:00:00.000Z', statusCode: 400, headers: '', body: '{"error":"invalid_grant"}' },
];

describe('credwatch classify', () => {
  it('is listed by credwatch --help and has its own --help', async () => {
    const main = await run(['--help']);
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/^\s+classify\s+Classify Panorama credential events/m);
    const help = await run(['classify', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: credwatch classify [FILE|-] [--environment STAGE|PRODUCTION] [--rules FILE] [--json]');
  });

  it('prints an aligned table oldest first, the counts and the verdict', async () => {
    const { code, stdout, stderr } = await run(['classify', file('events.json', JSON.stringify(events)), '--environment', 'production']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^ID\s+DATE\s+STATUS\s+CATEGORY\s+REASON$/);
    const rows = lines.slice(1, 5);
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(['a', 'b', 'c', 'd']);
    // Aligned: the CATEGORY column starts at the same offset on every row.
    const offset = (lines[0] ?? '').indexOf('CATEGORY');
    for (const row of rows) expect(row.slice(offset)).toMatch(/^(healthy|cognito_token_expired|provider_unavailable) /);
    expect(stdout).toContain('4 event(s), 1 duplicate id(s) dropped');
    expect(stdout).toMatch(/^\s+cognito_token_expired\s+2$/m);
    expect(stdout).toMatch(/^\s+healthy\s+1$/m);
    expect(stdout).toMatch(/^\s+provider_unavailable\s+1$/m);
    expect(stdout).toContain('Verdict: cognito_token_expired (action: reauthenticate) since 2026-11-02T12:00:00.000Z');
    expect(stdout).toContain('decided by event d, rule token.oauth-invalid-grant');
  });

  it('--json prints one object per event with exactly id, category, action, ruleId, reason', async () => {
    const { code, stdout } = await run(['classify', '--json', file('events-json.json', JSON.stringify(events))]);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    const objects = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const o of objects) expect(Object.keys(o).sort()).toEqual(['action', 'category', 'id', 'reason', 'ruleId']);
    expect(objects.map((o) => [o['id'], o['category'], o['action']])).toEqual([
      ['a', 'cognito_token_expired', 'reauthenticate'],
      ['b', 'healthy', 'none'],
      ['c', 'provider_unavailable', 'wait'],
      ['d', 'cognito_token_expired', 'reauthenticate'],
    ]);
  });

  it('reads stdin when FILE is "-" or absent', async () => {
    for (const argv of [
      ['classify', '-', '--json'],
      ['classify', '--json'],
    ]) {
      const { code, stdout } = await run(argv, JSON.stringify(events.slice(0, 2)));
      expect(code).toBe(0);
      expect(
        stdout
          .trimEnd()
          .split('\n')
          .map((l) => (JSON.parse(l) as { id: string }).id),
      ).toEqual(['a', 'b']);
    }
  });

  it('classifies the shared examples (fixture wrappers) to their expected categories', async () => {
    for (const path of [EXAMPLES, CASES]) {
      const fixtures = JSON.parse(readFileSync(path, 'utf8')) as Array<{ event: { id: string }; expect: string }>;
      const { code, stdout } = await run(['classify', path, '--json']);
      expect(code).toBe(0);
      const got = new Map(
        stdout
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l) as { id: string; category: string })
          .map((o) => [o.id, o.category]),
      );
      for (const f of fixtures) expect(got.get(f.event.id), f.event.id).toBe(f.expect);
    }
  });

  it('uses operator rules from --rules before the built-in ones', async () => {
    const rules = file(
      'rules.yaml',
      'rules:\n  - id: acme.teapot\n    category: provider_unavailable\n    reason: the teapot is brewing\n    match:\n      status: [418]\n',
    );
    const input = file('teapot.json', JSON.stringify([{ id: 't', statusCode: 418, body: "I'm a teapot" }]));
    const { code, stdout } = await run(['classify', input, '--rules', rules, '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ id: 't', category: 'provider_unavailable', ruleId: 'acme.teapot' });
  });

  const bad: Array<[string, () => string[], string | undefined, RegExp]> = [
    ['not JSON', () => ['classify', file('bad.json', '{"oops": ')], undefined, /^credwatch classify: .*bad\.json: not valid JSON \(.+\)$/],
    [
      'not an array',
      () => ['classify', file('obj.json', '{"id": 1}')],
      undefined,
      /^credwatch classify: .*obj\.json: expected a JSON array of events, got an object$/,
    ],
    [
      'an unreadable file',
      () => ['classify', join(dir, 'missing.json')],
      undefined,
      /^credwatch classify: cannot read .*missing\.json \(ENOENT\)$/,
    ],
    [
      'an element that is not an object',
      () => ['classify', '-'],
      '[{"id":"x"}, {"id":"y"}, 42]',
      /^credwatch classify: stdin: event at index 2 is not an object \(got a number\)$/,
    ],
    [
      'an element that is null',
      () => ['classify', '-'],
      '[null]',
      /^credwatch classify: stdin: event at index 0 is not an object \(got null\)$/,
    ],
    [
      'a wrapper whose event is not an object',
      () => ['classify', '-'],
      '[{"event": "x"}]',
      /^credwatch classify: stdin: "event" at index 0 is not an object \(got a string\)$/,
    ],
    ['empty stdin', () => ['classify'], '', /^credwatch classify: stdin: not valid JSON \(.+\)$/],
    [
      'a bad --environment',
      () => ['classify', '--environment', 'DEV', '-'],
      '[]',
      /^credwatch classify: --environment: expected STAGE or PRODUCTION, got "DEV"$/,
    ],
    ['an unknown option', () => ['classify', '--frobnicate'], '[]', /^credwatch classify: Unknown option '--frobnicate'.* \(see --help\)$/],
    ['two files', () => ['classify', 'a.json', 'b.json'], '[]', /^credwatch classify: expected at most one FILE, got 2: a\.json b\.json$/],
    [
      'a bad rules file',
      () => ['classify', '--rules', file('bad-rules.json', '[{"id":"x","category":"nope","reason":"r","match":{"status":[400]}}]'), '-'],
      '[]',
      /^credwatch classify: rules file .*bad-rules\.json: rule 0 \(id "x"\): category: expected one of healthy, .*$/,
    ],
  ];
  it.each(bad)('exits non-zero with one line for %s', async (_name, argv, stdin, message) => {
    const { code, stdout, stderr } = await run(argv(), stdin);
    expect(code).not.toBe(0);
    expect(stdout).toBe('');
    expect(stderr.endsWith('\n')).toBe(true);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr.trimEnd()).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses to wait on a terminal when no FILE is given', async () => {
    const { code, stderr } = await run(['classify'], undefined, true);
    expect(code).not.toBe(0);
    expect(stderr.trimEnd()).toBe('credwatch classify: no input: give a FILE, or pipe the events on stdin (see --help)');
  });

  it('handles an empty array: no events, healthy', async () => {
    const { code, stdout } = await run(['classify', '-'], '[]');
    expect(code).toBe(0);
    expect(stdout).toContain('0 event(s)');
    expect(stdout).toContain('Verdict: healthy (action: none)');
    expect((await run(['classify', '-', '--json'], '[]')).stdout).toBe('');
  });
});
