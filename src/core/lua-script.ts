import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ChainableCommander, Redis } from 'ioredis';

/** A value a script reads as a Lua constant (`local NAME = value`, prepended to the file). */
export type LuaConstant = string | number;

/** What a script is given: the keys it declares (for Redis Cluster routing) and its arguments. */
type ScriptArgs = readonly (string | number)[];

/**
 * One Lua script read from a `.lua` file next to the module that runs it. The file is read once; Redis
 * runs it by SHA1 (EVALSHA) and gets the source (EVAL) only when its script cache lacks it.
 */
export class LuaScript {
  /** The text Redis runs: the constants, the included files, then the script file. */
  readonly source: string;
  /** SHA1 of `source`, as EVALSHA names it. */
  readonly sha: string;
  /** Pipelines this script was queued on: the first call of a pipeline sends the source. */
  private readonly sentOn = new WeakSet<ChainableCommander>();

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script: EVALSHA, and EVAL when Redis answers NOSCRIPT (a restart or SCRIPT FLUSH emptied its cache). */
  async run(redis: Redis, keys: ScriptArgs, args: ScriptArgs): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return redis.eval(this.source, keys.length, ...keys, ...args);
      throw error;
    }
  }

  /**
   * Queues the script on a pipeline (its reply comes from exec()). The first call on a pipeline sends
   * the source (EVAL), the next ones its SHA1: a pipeline runs in order on one connection, so the script
   * is cached by then, and a flushed script cache cannot fail a pipeline.
   */
  queue(pipeline: ChainableCommander, keys: ScriptArgs, args: ScriptArgs): ChainableCommander {
    if (this.sentOn.has(pipeline)) return pipeline.evalsha(this.sha, keys.length, ...keys, ...args);
    this.sentOn.add(pipeline);
    return pipeline.eval(this.source, keys.length, ...keys, ...args);
  }
}

/**
 * Reads a script file, e.g. `loadLuaScript(new URL('./scripts/apply-poll.lua', import.meta.url))`.
 * `constants` become `local NAME = value` lines ahead of the script, so a value shared with TypeScript
 * has one definition. `args`, the names of ARGV in order, become the table `ARG` (`ARG.name` is ARGV[i]),
 * and a call with another count of arguments fails; build the ARGV with `argvOf` from the same names.
 * `include` files (shared Lua functions) come next, in order.
 */
export function loadLuaScript(
  file: URL,
  options: { constants?: Readonly<Record<string, LuaConstant>>; args?: readonly string[]; include?: readonly URL[] } = {},
): LuaScript {
  const constants = Object.entries(options.constants ?? {}).map(([name, value]) => `local ${name} = ${luaLiteral(value)}\n`);
  const args = options.args === undefined ? [] : [argTable(options.args)];
  const included = (options.include ?? []).map(readLua);
  return new LuaScript([...constants, ...args, ...included, readLua(file)].join(''));
}

/** The ARGV of a script loaded with `args: names`: each named value at its name's position. */
export function argvOf<const N extends readonly string[]>(names: N, values: Readonly<Record<N[number], string>>): string[] {
  return names.map((name: N[number]) => values[name]);
}

function argTable(names: readonly string[]): string {
  for (const name of names) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`Lua argument name is no identifier: ${name}`);
  return (
    `if #ARGV ~= ${names.length} then return redis.error_reply('ERR expected ${names.length} arguments, got ' .. #ARGV) end\n` +
    `local ARG = {${names.map((name, i) => `${name} = ARGV[${i + 1}]`).join(', ')}}\n`
  );
}

function readLua(file: URL): string {
  return readFileSync(file, 'utf8');
}

function luaLiteral(value: LuaConstant): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`Lua constant must be finite: ${value}`);
    return String(value);
  }
  // A JSON string of printable text is a valid Lua double-quoted string.
  if (/[^\x20-\x7e]/.test(value)) throw new Error(`Lua constant must be printable ASCII: ${JSON.stringify(value)}`);
  return JSON.stringify(value);
}
