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
  if (keyed.length > chunkSize) await yieldToEventLoop();
  keyed.sort((a, b) => (a.key === b.key ? a.index - b.index : a.key < b.key ? -1 : 1));
  return keyed.map((k) => k.event);
}
