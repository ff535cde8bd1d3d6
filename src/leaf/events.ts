import { normalizeEvent, parseEventDate } from '../classify/normalize-event.js';
import type { CredentialEvent } from '../classify/types.js';

/** Events normalised between two yields to the event loop. */
export const EVENTS_CHUNK_SIZE = 2000;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Normalises a raw events array with the classifier's tolerant `normalizeEvent`, in chunks that yield
 * to the event loop between them so tens of thousands of events do not stall other work; then sorts
 * oldest first (microsecond precision, undated events first, stable) and keeps the first copy of each
 * id. The same order and ids as the classifier's `normalizeEvents`, without one long blocking pass.
 */
export async function normalizeEventsInChunks(raw: readonly unknown[], chunkSize = EVENTS_CHUNK_SIZE): Promise<CredentialEvent[]> {
  const seen = new Set<string>();
  const keyed: Array<{ event: CredentialEvent; key: number; index: number }> = [];
  for (let start = 0; start < raw.length; start += chunkSize) {
    if (start > 0) await yieldToEventLoop();
    const end = Math.min(raw.length, start + chunkSize);
    for (let index = start; index < end; index += 1) {
      const event = normalizeEvent(raw[index], index);
      if (seen.has(event.id)) continue;
      seen.add(event.id);
      const micros = event.createdAtMs === null ? 0 : (parseEventDate(event.createdDate)?.micros ?? 0);
      keyed.push({ event, key: event.createdAtMs === null ? Number.NEGATIVE_INFINITY : event.createdAtMs * 1000 + micros, index });
    }
  }
  const sorted = await sortInSlices(keyed, (a, b) => (a.key === b.key ? a.index - b.index : a.key < b.key ? -1 : 1), chunkSize);
  return sorted.map((k) => k.event);
}

/**
 * A stable sort that yields to the event loop: sorts slices of `slice` items, then merges runs
 * bottom-up, yielding every `slice * 4` merge steps. Same result as `Array.prototype.sort`.
 */
export async function sortInSlices<T>(items: readonly T[], compare: (a: T, b: T) => number, slice = EVENTS_CHUNK_SIZE): Promise<T[]> {
  const n = items.length;
  let src: T[] = [];
  for (let start = 0; start < n; start += slice) {
    if (start > 0) await yieldToEventLoop();
    for (const item of items.slice(start, start + slice).sort(compare)) src.push(item);
  }
  let dst: T[] = new Array<T>(n);
  let steps = 0;
  for (let width = slice; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        // Take from the right run only when strictly smaller: equal items keep their order (stable).
        dst[k++] = compare(src[j] as T, src[i] as T) < 0 ? (src[j++] as T) : (src[i++] as T);
        if (++steps % (slice * 4) === 0) await yieldToEventLoop();
      }
      while (i < mid) dst[k++] = src[i++] as T;
      while (j < hi) dst[k++] = src[j++] as T;
    }
    [src, dst] = [dst, src];
  }
  return src;
}
