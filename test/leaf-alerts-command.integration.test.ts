import { PassThrough, Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import type { StartedSimulator } from '../src/sim/simulator.js';
import { startTestSimulator, TEST_SIM_ACCOUNT } from './helpers/simulator.js';

let sim: StartedSimulator;
beforeEach(async () => {
  sim = await startTestSimulator();
});
afterEach(async () => {
  await sim.close();
});

async function cli(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _e, done) {
        append(chunk.toString());
        done();
      },
    });
  const code = await runCli(['leaf-alerts', ...argv], {
    stdin: new PassThrough(),
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    env: {
      LEAF_API_URL: sim.url,
      LEAF_USERNAME: TEST_SIM_ACCOUNT.username,
      LEAF_PASSWORD: TEST_SIM_ACCOUNT.password,
      LEAF_ALERTS_SECRET: 'alerts-secret-value',
      ...env,
    },
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

describe('credwatch leaf-alerts', () => {
  it('registers, refuses a second registration showing the first, lists and deletes', async () => {
    const target = 'http://127.0.0.1:9/leaf/alerts';
    const registered = await cli(['register', '--url', target, '--name', 'credwatch-test']);
    expect(registered).toMatchObject({ code: 0, stderr: '' });
    expect(registered.stdout).toMatch(
      /^Registered alert webhook \S+ \(credwatch-test\) for credentialsUnauthenticated, credentialsLimitedPermission -> http:\/\/127\.0\.0\.1:9\/leaf\/alerts\n$/,
    );
    const id = /webhook (\S+) /.exec(registered.stdout)?.[1] ?? '';

    const again = await cli(['register', '--url', 'http://127.0.0.1:9/other']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already has a webhook for these events');
    expect(again.stdout).toContain(id);
    expect(again.stdout).toContain(target);

    const listed = await cli(['list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+EVENTS\s+URL$/);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).not.toContain('alerts-secret-value');
    const json = JSON.parse((await cli(['list', '--json'])).stdout) as Array<{ id: string }>;
    expect(json.map((h) => h.id)).toEqual([id]);

    expect(await cli(['delete', id])).toEqual({ code: 0, stdout: `Deleted alert webhook ${id}.\n`, stderr: '' });
    expect((await cli(['list'])).stdout).toBe('No alert webhook is registered at Leaf.\n');
    const missing = await cli(['delete', id]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no alert webhook ${id}`);
  });

  it('explains bad input without a stack trace', async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [[], {}, /expected a subcommand/],
      [['frobnicate'], {}, /unknown subcommand "frobnicate"/],
      [['register'], {}, /--url is required/],
      [['register', '--url', 'ftp://x'], {}, /--url: expected an http\(s\) URL/],
      [['register', '--url', 'https://x.example/leaf/alerts'], { LEAF_ALERTS_SECRET: '' }, /LEAF_ALERTS_SECRET is not set/],
      [['delete'], {}, /expected exactly one webhook ID/],
      [['list', '--url', 'https://x'], {}, /--url does not apply to "list"/],
      [['list', '--bogus'], {}, /Unknown option '--bogus'/],
      [['list'], { LEAF_USERNAME: '', LEAF_PASSWORD: '' }, /no Leaf credentials/],
    ];
    for (const [argv, env, message] of cases) {
      const result = await cli(argv, env);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr, argv.join(' ')).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('prints help for the command and each subcommand', async () => {
    for (const argv of [['--help'], ['register', '--help'], ['list', '-h'], ['delete', '--help']]) {
      const result = await cli(argv);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('credwatch leaf-alerts register --url URL [--name NAME]');
      expect(result.stdout).toContain('credwatch leaf-alerts delete ID');
    }
  });
});
