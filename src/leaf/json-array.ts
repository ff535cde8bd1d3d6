/** Characters of JSON text parsed between two yields to the event loop. */
export const JSON_CHUNK_CHARS = 256 * 1024;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

/** Index just past the closing quote of the string opening at `start` (which holds a quote). */
function skipString(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const quote = text.indexOf('"', i);
    if (quote === -1) throw new SyntaxError('unterminated string in JSON');
    let backslashes = 0;
    for (let j = quote - 1; j > start && text.charCodeAt(j) === BACKSLASH; j -= 1) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    i = quote + 1;
  }
}

/**
 * Parses a JSON text whose top level is an array, a slice of elements at a time (each slice through
 * `JSON.parse`), yielding to the event loop between slices: a 10 MB events array never blocks the loop
 * for one long JSON.parse. Answers undefined when the top level is not an array; throws SyntaxError
 * on malformed JSON, like JSON.parse.
 */
export async function parseJsonArrayInChunks(text: string, chunkChars = JSON_CHUNK_CHARS): Promise<unknown[] | undefined> {
  if (text.length <= chunkChars) {
    // One slice anyway: JSON.parse alone, without scanning the text first (the common case by far).
    const whole: unknown = JSON.parse(text);
    return Array.isArray(whole) ? whole : undefined;
  }
  let i = 0;
  while (i < text.length && isSpace(text.charCodeAt(i))) i += 1;
  if (text.charCodeAt(i) !== OPEN_BRACKET) {
    JSON.parse(text); // throws for malformed text; valid JSON of another shape falls through
    return undefined;
  }
  const out: unknown[] = [];
  i += 1;
  const firstStart = i;
  let sliceStart = i;
  let depth = 0;
  const flush = (end: number) => {
    const slice = text.slice(sliceStart, end);
    if (slice.trim() === '') {
      // Empty after an earlier slice means `[..., ]`: a trailing comma, which JSON forbids.
      if (sliceStart !== firstStart) throw new SyntaxError('trailing comma in JSON array');
      return;
    }
    const parsed = JSON.parse(`[${slice}]`) as unknown[];
    for (const element of parsed) out.push(element);
  };
  for (; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      i = skipString(text, i) - 1;
    } else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      depth += 1;
    } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) {
      if (depth === 0) {
        if (code !== CLOSE_BRACKET) throw new SyntaxError(`unexpected } at ${i} in JSON`);
        flush(i);
        if (text.slice(i + 1).trim() !== '') throw new SyntaxError(`unexpected text after the array at ${i + 1} in JSON`);
        return out;
      }
      depth -= 1;
    } else if (code === COMMA && depth === 0 && i - sliceStart >= chunkChars) {
      flush(i);
      sliceStart = i + 1;
      await yieldToEventLoop();
    }
  }
  throw new SyntaxError('unterminated array in JSON');
}
