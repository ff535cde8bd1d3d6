import { createHash } from 'node:crypto';
import type { CredentialEvent } from './types.js';

// ISO 8601 as Leaf sends it: 0, 3 or 6 (or any number of) fractional digits; a zone or none (UTC then).
const ISO_DATE = /^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$/i;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

/** Parses an ISO date to epoch milliseconds plus the microseconds below the millisecond, or null. */
export function parseEventDate(value: string): { ms: number; micros: number } | null {
  const m = ISO_DATE.exec(value);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  // Date.UTC would roll 2026-02-31 over to March: reject dates and times that do not exist.
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) return null;
  const frac = m[7] ?? '';
  const millis = frac === '' ? 0 : Number(frac.length >= 3 ? frac.slice(0, 3) : frac.padEnd(3, '0'));
  const micros = frac.length > 3 ? Number(frac.slice(3, 6).padEnd(3, '0')) : 0;
  let ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const zone = m[8];
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0');
    ms -= (zone.startsWith('-') ? -1 : 1) * offsetMinutes * 60_000;
  }
  return { ms, micros };
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}

function safeString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'object') return safeStringify(value);
  return '';
}

function toStatusCode(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 999 ? value : null;
  if (typeof value === 'string' && /^\s*\d{1,3}\s*$/.test(value)) return Number(value.trim());
  return null;
}

function toCreatedDate(value: unknown): { createdDate: string; createdAtMs: number | null } {
  if (typeof value === 'string') {
    const parsed = parseEventDate(value);
    return { createdDate: value, createdAtMs: parsed ? parsed.ms : null };
  }
  // Epoch milliseconds (or seconds, for small values) are tolerated and rendered as ISO.
  if (typeof value === 'number' && Number.isFinite(value) && value > 0 && value < 8.64e15) {
    const ms = value < 1e11 ? value * 1000 : value;
    const date = new Date(ms);
    if (!Number.isNaN(date.getTime())) return { createdDate: date.toISOString(), createdAtMs: Math.floor(ms) };
  }
  return { createdDate: '', createdAtMs: null };
}

function toHeaders(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) {
    // [[name, value], ...] or ['Name: value', ...]
    return value
      .map((entry: unknown) => (Array.isArray(entry) ? `${safeString(entry[0])}: ${safeString(entry[1])}` : safeString(entry)))
      .join('\n');
  }
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([name, v]) => `${name}: ${Array.isArray(v) ? v.map(safeString).join(', ') : safeString(v)}`)
      .join('\n');
  }
  return safeString(value);
}

function syntheticId(createdDate: string, statusCode: number | null, headers: string, body: string): string {
  const hash = createHash('sha256')
    .update(`${createdDate}\u0000${String(statusCode)}\u0000${headers}\u0000${body}`)
    .digest('hex');
  return `synthetic-${hash.slice(0, 16)}`;
}

/** True when `event` is already a CredentialEvent (normalised), so it need not be normalised again. */
export function isCredentialEvent(event: unknown): event is CredentialEvent {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as Record<string, unknown>;
  try {
    return (
      typeof e['id'] === 'string' &&
      typeof e['createdDate'] === 'string' &&
      typeof e['headers'] === 'string' &&
      typeof e['body'] === 'string' &&
      (e['createdAtMs'] === null || Number.isFinite(e['createdAtMs'])) &&
      (e['statusCode'] === null || Number.isInteger(e['statusCode']))
    );
  } catch {
    return false;
  }
}

function field(raw: object, name: string): unknown {
  try {
    return Object.prototype.hasOwnProperty.call(raw, name) ? (raw as Record<string, unknown>)[name] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Turns one element of Leaf's events array into a CredentialEvent. Tolerant of every shape and never
 * throws; a missing id becomes a synthetic id derived from the content (stable across polls).
 * The position `_index` is accepted for callers that track it; the id never depends on it.
 */
export function normalizeEvent(raw: unknown, _index?: number): CredentialEvent {
  if (isCredentialEvent(raw)) return raw;
  try {
    const obj = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {};
    const { createdDate, createdAtMs } = toCreatedDate(field(obj, 'createdDate'));
    const statusCode = toStatusCode(field(obj, 'statusCode'));
    const headers = toHeaders(field(obj, 'headers'));
    const body = safeString(field(obj, 'body'));
    const rawId = field(obj, 'id');
    const id =
      (typeof rawId === 'string' && rawId.trim() !== '') || (typeof rawId === 'number' && Number.isFinite(rawId))
        ? String(rawId)
        : syntheticId(createdDate, statusCode, headers, body);
    return { id, createdDate, createdAtMs, statusCode, headers, body };
  } catch {
    return { id: syntheticId('', null, '', ''), createdDate: '', createdAtMs: null, statusCode: null, headers: '', body: '' };
  }
}

/** Sort key with microsecond precision; events without a date sort before every dated one. */
function sortKey(event: CredentialEvent): number {
  if (event.createdAtMs === null) return Number.NEGATIVE_INFINITY;
  // createdAtMs already holds the milliseconds: only the digits below them are read again.
  const sub = SUB_MILLI.exec(event.createdDate)?.[1];
  return event.createdAtMs * 1000 + (sub === undefined ? 0 : Number(sub.padEnd(3, '0')));
}
const SUB_MILLI = /:\d{2}[.,]\d{3}(\d{1,3})/;

/**
 * Normalises Leaf's events array: oldest first by createdDate (stable for equal dates, undated events
 * first), and only the first occurrence of each id kept.
 */
export function normalizeEvents(raw: readonly unknown[]): CredentialEvent[] {
  const seen = new Set<string>();
  const keyed: Array<{ event: CredentialEvent; key: number; index: number }> = [];
  for (let index = 0; index < raw.length; index += 1) {
    const event = normalizeEvent(raw[index], index);
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    keyed.push({ event, key: sortKey(event), index });
  }
  keyed.sort((a, b) => (a.key === b.key ? a.index - b.index : a.key < b.key ? -1 : 1));
  return keyed.map((k) => k.event);
}
