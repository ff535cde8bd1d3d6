import type { CredentialEvent } from '../classify/types.js';

/** Events normalised between two yields to the event loop. */
export const EVENTS_CHUNK_SIZE = 2000;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}

function statusCode(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) ? value : null;
  if (typeof value === 'string' && /^\s*\d{3}\s*$/.test(value)) return Number(value);
  return null;
}

/** Parses Leaf's createdDate (3, 6 or no fractional digits; UTC when no offset is given). */
export function parseEventDate(value: string): number | null {
  const trimmed = value.trim();
  if (trimmed === '') return null;
  const withZone = /T.*(Z|[+-]\d{2}:?\d{2})$/i.test(trimmed) || !trimmed.includes('T') ? trimmed : `${trimmed}Z`;
  const ms = Date.parse(withZone);
  return Number.isNaN(ms) ? null : ms;
}

/** Normalises one raw event; never throws, whatever the element is. */
export function normalizeEvent(raw: unknown): CredentialEvent {
  const record = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const createdDate = typeof record['createdDate'] === 'string' ? record['createdDate'] : '';
  const id = record['id'];
  return {
    id: typeof id === 'string' || typeof id === 'number' ? String(id) : '',
    createdDate,
    createdAtMs: parseEventDate(createdDate),
    statusCode: statusCode(record['statusCode']),
    headers: text(record['headers']),
    body: text(record['body']),
  };
}

/** Oldest first; events without a readable date first (they never decide over dated ones). Stable. */
export function compareEvents(a: CredentialEvent, b: CredentialEvent): number {
  return (a.createdAtMs ?? -Infinity) - (b.createdAtMs ?? -Infinity) || 0;
}

/**
 * Normalises a raw events array in chunks, yielding to the event loop between chunks so that tens of
 * thousands of events do not stall other work; then sorts oldest first and drops repeated ids (the
 * first copy stays). Events without an id are all kept.
 */
export async function normalizeEventsInChunks(raw: readonly unknown[], chunkSize = EVENTS_CHUNK_SIZE): Promise<CredentialEvent[]> {
  const seen = new Set<string>();
  const events: CredentialEvent[] = [];
  for (let start = 0; start < raw.length; start += chunkSize) {
    if (start > 0) await yieldToEventLoop();
    const end = Math.min(raw.length, start + chunkSize);
    for (let i = start; i < end; i += 1) {
      const event = normalizeEvent(raw[i]);
      if (event.id !== '') {
        if (seen.has(event.id)) continue;
        seen.add(event.id);
      }
      events.push(event);
    }
  }
  if (events.length > chunkSize) await yieldToEventLoop();
  // Array.prototype.sort is stable, so events with equal dates keep Leaf's order.
  return events.sort(compareEvents);
}
