import { describe, expect, it } from 'vitest';
import { CONFIG_DOCS, CONFIG_VARIABLES, ConfigError, loadConfig } from '../src/config.js';
import { runCli } from '../src/cli.js';
import { PassThrough } from 'node:stream';
import { formatDuration, parseDuration } from '../src/duration.js';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['2d', 172_800_000],
    ['0', 0],
    [' 15M ', 900_000],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '15', 'm', '5 minutes', '1h-5m', '-1s', '1w'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/expected a duration/);
  });

  it('formats durations back', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(250)).toBe('250ms');
  });
});

describe('loadConfig', () => {
  it('gives documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config.leaf.apiUrl).toBe('https://api.withleaf.io');
    expect(config.monitor.pollIntervalMs).toBe(15 * 60_000);
    expect(config.monitor.pollConcurrency).toBe(8);
    expect(config.monitor.providers).toEqual(['panorama']);
    expect(config.monitor.flapCooldownMs).toBe(3_600_000);
    expect(config.monitor.providerUnavailableAfterMs).toBe(6 * 3_600_000);
    expect(config.http.port).toBe(8080);
    expect(config.http.metricsPort).toBeUndefined();
    expect(config.http.adminToken).toBeUndefined();
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'credwatch' });
  });

  it('parses every kind of value', () => {
    const config = loadConfig({
      LEAF_API_URL: 'http://127.0.0.1:8090/',
      LEAF_USERNAME: 'u',
      LEAF_PASSWORD: 'p',
      CREDWATCH_POLL_INTERVAL: '30s',
      CREDWATCH_LEAF_RPS: '2.5',
      CREDWATCH_PROVIDERS: 'panorama, john_deere',
      CREDWATCH_NOTIFY_UNCLASSIFIED: 'yes',
      CREDWATCH_METRICS_PORT: '9464',
      CREDWATCH_WEBHOOK_URL: 'https://example.test/hook',
      CREDWATCH_WEBHOOK_SECRET: 'whsec_c2VjcmV0',
    });
    expect(config.leaf.apiUrl).toBe('http://127.0.0.1:8090');
    expect(config.monitor.pollIntervalMs).toBe(30_000);
    expect(config.monitor.leafRps).toBe(2.5);
    expect(config.monitor.providers).toEqual(['panorama', 'john_deere']);
    expect(config.monitor.notifyUnclassified).toBe(true);
    expect(config.http.metricsPort).toBe(9464);
  });

  it('lists every bad variable at once, naming each and what was expected', () => {
    let error: unknown;
    try {
      loadConfig({
        LEAF_API_URL: 'ftp://leaf',
        CREDWATCH_POLL_INTERVAL: 'often',
        CREDWATCH_POLL_CONCURRENCY: '0',
        CREDWATCH_LEAF_RPS: '-3',
        CREDWATCH_PROVIDERS: 'panorama,tractorcorp',
        CREDWATCH_PORT: '70000',
        LOG_LEVEL: 'loud',
        REDIS_URL: 'localhost:6379',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of [
      'LEAF_API_URL',
      'CREDWATCH_POLL_INTERVAL',
      'CREDWATCH_POLL_CONCURRENCY',
      'CREDWATCH_LEAF_RPS',
      'CREDWATCH_PROVIDERS',
      'CREDWATCH_PORT',
      'LOG_LEVEL',
      'REDIS_URL',
    ]) {
      expect(problems).toContain(name);
    }
    expect(problems).toContain('expected a duration');
    expect(problems).toContain('tractorcorp');
    expect((error as ConfigError).code).toBe('CONFIG_INVALID');
  });

  it('checks variables that only make sense together, without echoing secrets', () => {
    expect(() => loadConfig({ LEAF_USERNAME: 'someone' })).toThrow(/LEAF_USERNAME \/ LEAF_PASSWORD/);
    expect(() => loadConfig({ CREDWATCH_WEBHOOK_URL: 'https://x.test' })).toThrow(/CREDWATCH_WEBHOOK_SECRET: required/);
    try {
      loadConfig({ CREDWATCH_WEBHOOK_SECRET: 'not-a-secret-format-hunter2' });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toContain('CREDWATCH_WEBHOOK_SECRET');
      expect((e as Error).message).not.toContain('hunter2');
    }
  });

  it('documents every variable it reads', () => {
    const documented = CONFIG_DOCS.map((d) => d.name);
    expect(new Set(documented).size).toBe(documented.length);
    // A variable that is not documented is ignored (not read): unknown names never change the config.
    expect(loadConfig({ CREDWATCH_SOMETHING_ELSE: 'x' })).toEqual(loadConfig({}));
  });

  it('gives every variable its documented default when unset (one declaration: doc and value agree)', () => {
    const defaults = loadConfig({});
    const documented = Object.fromEntries(CONFIG_VARIABLES.filter((v) => v.default !== '').map((v) => [v.name, v.default]));
    expect(Object.keys(documented).length).toBeGreaterThan(15);
    expect(loadConfig(documented)).toEqual(defaults);
    for (const v of CONFIG_VARIABLES.filter((x) => x.default === '')) {
      expect(v.schema.parse(undefined), `${v.name} has no documented default, so unset must mean undefined`).toBeUndefined();
    }
  });

  it('keeps blank values strict where they were (numbers, durations) and lenient for URLs and ports', () => {
    expect(() => loadConfig({ CREDWATCH_POLL_CONCURRENCY: '' })).toThrow(/CREDWATCH_POLL_CONCURRENCY/);
    expect(() => loadConfig({ CREDWATCH_POLL_INTERVAL: ' ' })).toThrow(/CREDWATCH_POLL_INTERVAL/);
    expect(loadConfig({ LEAF_API_URL: '', CREDWATCH_PORT: '' })).toEqual(loadConfig({}));
  });

  it('never shows a secret value in an error', () => {
    const secret = 'hunter2-not-shown';
    expect(() => loadConfig({ CREDWATCH_ADMIN_TOKEN: secret, LEAF_TOKEN: secret, CREDWATCH_PORT: 'x' })).toThrow(/CREDWATCH_PORT/);
    try {
      loadConfig({ CREDWATCH_WEBHOOK_SECRET: secret, CREDWATCH_PORT: 'x' });
    } catch (e) {
      expect((e as Error).message).not.toContain(secret);
    }
  });
});

describe('credwatch config', () => {
  async function run(argv: string[], env: Record<string, string>) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await runCli(['config', ...argv], { stdin: new PassThrough(), stdout, stderr, env, signal: new AbortController().signal });
    return { code, out, err };
  }

  it('shows every variable, secrets only as set, and exits 0 on a valid configuration', async () => {
    const r = await run([], {
      LEAF_TOKEN: 'tok-secret-123',
      REDIS_URL: 'redis://user:pw-secret@127.0.0.1:6379',
      CREDWATCH_POLL_INTERVAL: '5m',
    });
    expect(r.code).toBe(0);
    for (const v of CONFIG_VARIABLES) expect(r.out).toContain(`${v.name}=`);
    expect(r.out).toContain('LEAF_TOKEN=(set, not shown)');
    expect(r.out).toContain('CREDWATCH_POLL_INTERVAL=5m\n');
    expect(r.out).toContain('CREDWATCH_HISTORY_LIMIT=50 (default)');
    expect(r.out + r.err).not.toMatch(/tok-secret-123|pw-secret/);
  });

  it('exits 2 naming each bad variable', async () => {
    const r = await run([], { CREDWATCH_POLL_INTERVAL: 'often', CREDWATCH_PORT: '-1' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/CREDWATCH_POLL_INTERVAL: expected a duration/);
    expect(r.err).toMatch(/CREDWATCH_PORT: expected a TCP port/);
  });

  it('prints the README table with --markdown', async () => {
    const r = await run(['--markdown'], {});
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('| variable | default | meaning |');
    expect(r.out.trim().split('\n')).toHaveLength(CONFIG_VARIABLES.length + 2);
  });
});
