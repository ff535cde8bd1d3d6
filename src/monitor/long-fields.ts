/**
 * The compact encoding of long values in a credential's state hash. Redis keeps a small hash as one
 * listpack only while every value is at most `hash-max-listpack-value` bytes (64 by default); one longer
 * value (an error excerpt, a long rule reason) turns it into a hashtable of about three times the size.
 * So a long value is cut, on character boundaries, into chunks of at most 64 bytes kept in the fields
 * `name`, `name2`, `name3`… (apply-poll.lua writes them; `joinChunks` reads them back).
 */

/** Most bytes of one chunk: Redis's default hash-max-listpack-value. */
export const CHUNK_BYTES = 64;

/** `value` cut into chunks of at most CHUNK_BYTES UTF-8 bytes, never inside a character ('' → no chunk). */
export function listpackChunks(value: string): string[] {
  const chunks: string[] = [];
  let chunk = '';
  let bytes = 0;
  for (const ch of value) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (bytes + size > CHUNK_BYTES) {
      chunks.push(chunk);
      chunk = '';
      bytes = 0;
    }
    chunk += ch;
    bytes += size;
  }
  if (chunk !== '') chunks.push(chunk);
  return chunks;
}

/** The value of `field` in a hash read with HGETALL: the field and its chunks `field2`, `field3`…, joined. */
export function joinChunks(h: Readonly<Record<string, string>>, field: string): string | undefined {
  const first = h[field];
  if (first === undefined) return undefined;
  let value = first;
  for (let i = 2; h[`${field}${i}`] !== undefined; i += 1) value += h[`${field}${i}`];
  return value;
}
