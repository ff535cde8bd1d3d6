import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { argvOf, loadLuaScript, type LuaScript } from '../src/core/lua-script.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';

describe('loadLuaScript (real Redis)', () => {
  let dir: string;
  let prefix: string;
  let redis: Redis;
  let cleanup: () => Promise<void>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lua-script-'));
    writeFileSync(join(dir, 'helpers.lua'), 'local function twice(x) return x * 2 end\n');
    writeFileSync(
      join(dir, 'count.lua'),
      "-- KEYS[1]: a counter. ARGV[1]: step.\nreturn {redis.call('INCRBY', KEYS[1], twice(tonumber(ARGV[1]))), LABEL, NONCE}\n",
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    prefix = uniquePrefix('lua');
    ({ redis, cleanup } = await testRedis(prefix));
  });
  afterEach(async () => cleanup());

  /** A script no Redis has cached yet: its text carries a random constant. */
  function freshScript(): LuaScript {
    return loadLuaScript(pathToFileURL(join(dir, 'count.lua')), {
      constants: { LABEL: 'counted', NONCE: randomBytes(8).toString('hex') },
      include: [pathToFileURL(join(dir, 'helpers.lua'))],
    });
  }

  it('puts the constants, then the included files, then the file, and names the text by its SHA1', () => {
    const script = freshScript();
    expect(script.source).toMatch(/^local LABEL = "counted"\nlocal NONCE = "[0-9a-f]{16}"\nlocal function twice/);
    expect(script.source.endsWith('twice(tonumber(ARGV[1]))), LABEL, NONCE}\n')).toBe(true);
    expect(script.sha).toMatch(/^[0-9a-f]{40}$/);
  });

  it('runs on a client: EVAL when Redis lacks the script (NOSCRIPT), EVALSHA once it is cached', async () => {
    const script = freshScript();
    expect(await redis.script('EXISTS', script.sha)).toEqual([0]);
    expect(await script.run(redis, [`${prefix}:n`], ['3'])).toEqual([6, 'counted', expect.any(String)]);
    expect(await redis.script('EXISTS', script.sha)).toEqual([1]);
    expect(await script.run(redis, [`${prefix}:n`], [1])).toEqual([8, 'counted', expect.any(String)]);
  });

  it('runs queued on a pipeline even when Redis lacks the script, replies in queue order', async () => {
    const script = freshScript();
    const pipeline = redis.pipeline();
    script.queue(pipeline, [`${prefix}:p`], ['1']);
    pipeline.get(`${prefix}:p`);
    script.queue(pipeline, [`${prefix}:p`], ['2']);
    script.queue(pipeline, [`${prefix}:p`], ['3']);
    const results = (await pipeline.exec()) ?? [];
    expect(results.map(([error]) => error)).toEqual([null, null, null, null]);
    expect(results.map(([, reply]) => (Array.isArray(reply) ? reply[0] : reply))).toEqual([2, '2', 6, 12]);
  });

  it('names the arguments: ARG.name is ARGV at its position, and another count of arguments fails', async () => {
    writeFileSync(join(dir, 'named.lua'), 'return {ARG.first, ARG.second}\n');
    const named = loadLuaScript(pathToFileURL(join(dir, 'named.lua')), { args: ['first', 'second'] });
    expect(await named.run(redis, [], argvOf(['first', 'second'] as const, { second: 'b', first: 'a' }))).toEqual(['a', 'b']);
    await expect(named.run(redis, [], ['a'])).rejects.toThrow('expected 2 arguments, got 1');
  });

  it('passes a Lua error through', async () => {
    const broken = loadLuaScript(pathToFileURL(join(dir, 'count.lua')), { constants: { LABEL: 'x', NONCE: 'y' } });
    await expect(broken.run(redis, [`${prefix}:n`], ['1'])).rejects.toThrow(/twice/);
  });
});
