import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { STATE_FIELD } from '../src/monitor/state-fields.js';

const SCRIPTS = ['apply-poll.lua', 'mark-removed.lua', 'record-seen.lua'];
/** Fields a script names when it reads or writes the state hash (`cred`). */
function fieldsWritten(file: string): string[] {
  const lua = readFileSync(new URL(`../src/monitor/scripts/${file}`, import.meta.url), 'utf8');
  const calls = [...lua.matchAll(/redis\.call\('(?:HSET|HGET|HDEL|HEXISTS|HINCRBY)', cred, ([^)]*)\)/g)].map((m) => m[1] ?? '');
  // Field names are the quoted words of those calls ('0' and the like are values); `field .. n` is a chunk.
  return calls.flatMap((args) => [...args.matchAll(/'([a-z]+)'/g)].map((m) => m[1] ?? ''));
}

describe('the state hash fields', () => {
  it('every field the scripts read or write is one of STATE_FIELD, and every STATE_FIELD is written by a script', () => {
    const known = new Set<string>(Object.values(STATE_FIELD));
    const used = new Set(SCRIPTS.flatMap(fieldsWritten));
    expect([...used].filter((f) => !known.has(f))).toEqual([]);
    // reason and ex are also written by setChunks (by name, as its argument).
    const lua = SCRIPTS.map((f) => readFileSync(new URL(`../src/monitor/scripts/${f}`, import.meta.url), 'utf8')).join('\n');
    expect(Object.values(STATE_FIELD).filter((f) => !used.has(f) && !lua.includes(`setChunks('${f}'`))).toEqual([]);
  });

  it('uses distinct names', () => {
    expect(new Set(Object.values(STATE_FIELD)).size).toBe(Object.values(STATE_FIELD).length);
  });
});
