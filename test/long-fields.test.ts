import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, joinChunks, listpackChunks } from '../src/monitor/long-fields.js';

function asHash(field: string, chunks: string[]): Record<string, string> {
  return Object.fromEntries(chunks.map((c, i) => [i === 0 ? field : `${field}${i + 1}`, c]));
}

describe('long fields in 64-byte chunks', () => {
  it('cuts on character boundaries, each chunk at most 64 bytes, and joins back to the value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (value) => {
        const chunks = listpackChunks(value);
        expect(chunks.every((c) => c !== '' && Buffer.byteLength(c) <= CHUNK_BYTES)).toBe(true);
        expect(chunks.join('')).toBe(value);
        expect(joinChunks(asHash('ex', chunks), 'ex')).toBe(value === '' ? undefined : value);
      }),
    );
  });

  it('keeps a value of at most 64 bytes in one field', () => {
    expect(listpackChunks('a'.repeat(64))).toEqual(['a'.repeat(64)]);
    expect(listpackChunks('a'.repeat(63) + 'é')).toEqual(['a'.repeat(63), 'é']);
    expect(listpackChunks('')).toEqual([]);
  });
});
