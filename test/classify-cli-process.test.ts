import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('./fixtures/panorama-events.json', import.meta.url));

function credwatch(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/credwatch.js', ...args], { cwd: ROOT, input, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

// `npm test` builds dist/ before running vitest; this file checks the real binary end to end.
describe('credwatch classify as a child process (bin/credwatch.js, built dist/)', () => {
  it('needs a build', () => {
    expect(existsSync(`${ROOT}dist/cli.js`), 'dist/cli.js is missing: run `npm run build` first').toBe(true);
  });

  it('classifies the shared examples piped on stdin', () => {
    const { status, stdout, stderr } = credwatch(['classify', '--json'], readFileSync(EXAMPLES, 'utf8'));
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const expected = (JSON.parse(readFileSync(EXAMPLES, 'utf8')) as Array<{ event: { id: string }; expect: string }>).map((e) => [
      e.event.id,
      e.expect,
    ]);
    const got = stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; category: string })
      .map((o) => [o.id, o.category]);
    expect(got).toEqual(expected);
  });

  it('prints the table for a file and one error line, no stack trace, for bad input', () => {
    const table = credwatch(['classify', EXAMPLES, '--environment', 'PRODUCTION']);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+DATE\s+STATUS\s+CATEGORY\s+REASON$/m);
    expect(table.stdout).toContain('Verdict: healthy (action: none)');
    const bad = credwatch(['classify', '-'], '[1]');
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe('credwatch classify: stdin: event at index 0 is not an object (got a number)\n');
  });
});
