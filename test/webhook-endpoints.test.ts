import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isCredwatchError } from '../src/errors.js';
import { loadEndpoints } from '../src/webhooks/endpoints.js';

const dir = mkdtempSync(join(tmpdir(), 'credwatch-endpoints-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function failure(options: Parameters<typeof loadEndpoints>[0]): Promise<string> {
  try {
    await loadEndpoints(options);
  } catch (error) {
    expect(isCredwatchError(error, 'WEBHOOKS_INVALID')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected loadEndpoints to fail');
}

describe('loadEndpoints', () => {
  it('reads a YAML file with filters and secret rotation', async () => {
    const path = file(
      'ok.yaml',
      `- name: app-one\n  url: https://app.example/hooks\n  secret: ${SECRET}\n- name: ops_2\n  url: http://127.0.0.1:9/x?k=1\n  secrets: [${SECRET}, whsec_c2Vjb25k]\n  filters:\n    events: [credential.action_required]\n    categories: [cognito_token_expired]\n    providers: [panorama]\n    environments: [PRODUCTION]\n`,
    );
    const endpoints = await loadEndpoints({ file: path });
    expect(endpoints).toEqual([
      { name: 'app-one', url: 'https://app.example/hooks', secrets: [SECRET], filters: {} },
      {
        name: 'ops_2',
        url: 'http://127.0.0.1:9/x?k=1',
        secrets: [SECRET, 'whsec_c2Vjb25k'],
        filters: {
          events: ['credential.action_required'],
          categories: ['cognito_token_expired'],
          providers: ['panorama'],
          environments: ['PRODUCTION'],
        },
      },
    ]);
  });

  it('reads JSON ({ endpoints: [...] }) and adds the single url+secret endpoint as "default"', async () => {
    const path = file('ok.json', JSON.stringify({ endpoints: [{ name: 'a', url: 'https://a.example/', secret: SECRET }] }));
    const endpoints = await loadEndpoints({ file: path, url: 'https://b.example/hook', secret: SECRET });
    expect(endpoints.map((e) => e.name)).toEqual(['a', 'default']);
    expect(await loadEndpoints({})).toEqual([]);
  });

  it('names the endpoint and the field of each problem, never the secret', async () => {
    const path = file(
      'bad.yaml',
      `- name: good\n  url: https://x.example\n  secret: ${SECRET}\n- name: app-two\n  url: ftp://x.example\n  secret: notasecret\n- url: https://y.example\n  secret: ${SECRET}\n- name: f\n  url: https://z.example\n  secret: ${SECRET}\n  filters:\n    categories: [expired]\n`,
    );
    const message = await failure({ file: path });
    expect(message).toContain('endpoint "app-two" (#2): url: expected an http(s) URL');
    expect(message).toContain('endpoint "app-two" (#2): secret: expected whsec_ followed by base64');
    expect(message).toContain('endpoint #3: name:');
    expect(message).toContain('endpoint "f" (#4): filters.categories.0:');
    expect(message).not.toContain('notasecret');
  });

  it('rejects duplicate and non-label-safe names, both or neither secret, unknown keys', async () => {
    expect(
      await failure({
        file: file(
          'dup.json',
          JSON.stringify([
            { name: 'a', url: 'https://a.example', secret: SECRET },
            { name: 'a', url: 'https://b.example', secret: SECRET },
          ]),
        ),
      }),
    ).toContain('endpoint "a": name: used by more than one endpoint');
    expect(
      await failure({ file: file('upper.json', JSON.stringify([{ name: 'App One', url: 'https://a.example', secret: SECRET }])) }),
    ).toContain('endpoint "App One" (#1): name: expected 1 to 40');
    expect(
      await failure({
        file: file('both.json', JSON.stringify([{ name: 'a', url: 'https://a.example', secret: SECRET, secrets: [SECRET] }])),
      }),
    ).toContain('secret: give exactly one of secret or secrets');
    expect(await failure({ file: file('neither.json', JSON.stringify([{ name: 'a', url: 'https://a.example' }])) })).toContain(
      'secret: give exactly one of secret or secrets',
    );
    expect(
      await failure({ file: file('extra.json', JSON.stringify([{ name: 'a', url: 'https://a.example', secret: SECRET, retries: 3 }])) }),
    ).toMatch(/endpoint "a" \(#1\): \(endpoint\): .*retries/);
  });

  it('reports unreadable, unparsable and wrongly shaped files', async () => {
    expect(await failure({ file: join(dir, 'missing.yaml') })).toContain('cannot read webhooks file');
    expect(await failure({ file: file('broken.json', '[{') })).toContain('is not valid JSON/YAML');
    expect(await failure({ file: file('scalar.yaml', 'hello') })).toContain('expected a list of endpoints');
  });

  it('checks the single endpoint and its clash with a file endpoint named default', async () => {
    expect(await failure({ url: 'https://a.example' })).toContain('endpoint "default" (#1): secret: give exactly one');
    const path = file('default.json', JSON.stringify([{ name: 'default', url: 'https://a.example', secret: SECRET }]));
    expect(await failure({ file: path, url: 'https://b.example', secret: SECRET })).toContain(
      'endpoint "default": name: used by the webhooks file',
    );
  });
});
