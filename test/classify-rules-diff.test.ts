import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';

function sink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

async function cli(args: string[]) {
  const stdout = sink();
  const stderr = sink();
  const code = await runCli(args, { stdin: Readable.from([]), stdout, stderr, env: {}, signal: new AbortController().signal });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'credwatch-diff-'));
  await writeFile(
    join(dir, 'events.json'),
    JSON.stringify([
      { id: 'e1', createdDate: '2026-11-01T00:00:00Z', statusCode: 409, body: '{"message":"Ledger 12 locked"}' },
      {
        id: 'e2',
        createdDate: '2026-11-02T00:00:00Z',
        statusCode: 400,
        body: '{"__type":"NotAuthorizedException","message":"Refresh Token has expired"}',
      },
    ]),
  );
  await writeFile(
    join(dir, 'rules.yaml'),
    '- id: local.ledger\n  category: provider_unavailable\n  reason: ledger locks clear by themselves\n  match:\n    status: [409]\n    message: ["ledger .* locked"]\n',
  );
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('credwatch classify --rules: what the rules change', () => {
  it('lists each changed event before and after in the table', async () => {
    const r = await cli(['classify', join(dir, 'events.json'), '--rules', join(dir, 'rules.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 of 2 event(s)');
    expect(r.stdout).toMatch(/e1 {2}unclassified \(fallback\.unclassified\) -> provider_unavailable \(local\.ledger\)/);
    expect(r.stdout).not.toMatch(/e2 .*->/);
  });

  it('adds "before" to the changed events of --json only', async () => {
    const r = await cli(['classify', join(dir, 'events.json'), '--rules', join(dir, 'rules.yaml'), '--json']);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({
      id: 'e1',
      category: 'provider_unavailable',
      before: { category: 'unclassified', ruleId: 'fallback.unclassified' },
    });
    expect(lines[1]).not.toHaveProperty('before');
  });

  it('rules suggest has --help and refuses a bad category without touching Redis', async () => {
    const help = await cli(['rules', '--help']);
    expect(help.stdout).toContain('credwatch rules suggest [SIGNATURE_ID]');
    const bad = await cli(['rules', 'suggest', 'abcdef', '--category', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--category: "nope" is not a category');
  });
});
