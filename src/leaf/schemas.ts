import { z } from 'zod';
import { CLIENT_ENVIRONMENTS, type ClientEnvironment } from '../classify/categories.js';

const idLike = z.union([z.string().min(1), z.number().finite()]).transform((v) => String(v));
// `.optional()` first: zod 4 reports a missing key before a transform could tolerate it.
const optionalText = z
  .unknown()
  .optional()
  .transform((v) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined));

/** A Leaf user as credwatch keeps it: provider credential objects (which hold tokens) are dropped. */
export interface LeafUser {
  id: string;
  name: string | undefined;
  email: string | undefined;
  externalId: string | undefined;
}

/** One element of `GET /users`: only the fields credwatch uses are kept (z.object strips the rest). */
export const leafUserSchema = z.object({
  id: idLike,
  name: optionalText,
  email: optionalText,
  externalId: optionalText,
});

/** Parses a users page (a bare array). Elements without a usable id are counted, not kept. */
export function parseUsersPage(body: unknown): { users: LeafUser[]; skipped: number } | undefined {
  if (!Array.isArray(body)) return undefined;
  const users: LeafUser[] = [];
  let skipped = 0;
  for (const element of body) {
    const parsed = leafUserSchema.safeParse(element);
    if (parsed.success) {
      const { id, name, email, externalId } = parsed.data;
      users.push({ id, name, email, externalId });
    } else skipped += 1;
  }
  return { users, skipped };
}

/**
 * A provider credential without its secrets: `accessToken`, `refreshToken` and any password are dropped
 * at parse time and never exist in credwatch's memory past this point.
 */
export interface SafeCredential {
  id: string;
  /** Leaf's status as sent (`OK`, `UNAUTHENTICATED`, `MISSING_PERMISSION`, `TEMPORARILY_UNAVAILABLE` or unknown). */
  status: string | undefined;
  clientEnvironment: ClientEnvironment | undefined;
  clientId: string | undefined;
  organizationCode: string | undefined;
  createdTime: string | undefined;
}

/** The Panorama credential (the same shape serves every provider). */
export type PanoramaCredential = SafeCredential;

const environment = z
  .unknown()
  .optional()
  .transform((v): ClientEnvironment | undefined => {
    if (typeof v !== 'string') return undefined;
    const upper = v.trim().toUpperCase();
    return (CLIENT_ENVIRONMENTS as readonly string[]).includes(upper) ? (upper as ClientEnvironment) : undefined;
  });

/** The credential object: tolerant of missing fields and unknown status values; tokens are stripped. */
export const credentialSchema = z.object({
  id: idLike,
  status: optionalText,
  clientEnvironment: environment,
  clientId: optionalText,
  organizationCode: optionalText,
  createdTime: optionalText,
});

/** Parses a credential object, or undefined when it is not one. */
export function parseCredential(body: unknown): SafeCredential | undefined {
  const parsed = credentialSchema.safeParse(body);
  if (!parsed.success) return undefined;
  const { id, status, clientEnvironment, clientId, organizationCode, createdTime } = parsed.data;
  return { id, status, clientEnvironment, clientId, organizationCode, createdTime };
}

/** A Leaf alert webhook registration, without its secret. */
export interface AlertWebhook {
  id: string;
  name: string | undefined;
  url: string | undefined;
  events: string[];
}

/** One registered alert webhook as Leaf lists it; the `secret` is dropped. */
export const alertWebhookSchema = z.object({
  id: idLike,
  name: optionalText,
  url: optionalText,
  events: z
    .unknown()
    .optional()
    .transform((v) => (Array.isArray(v) ? v.filter((e): e is string => typeof e === 'string') : [])),
});

/** Parses one alert webhook, or undefined when it is not one. */
export function parseAlertWebhook(body: unknown): AlertWebhook | undefined {
  const parsed = alertWebhookSchema.safeParse(body);
  if (!parsed.success) return undefined;
  const { id, name, url, events } = parsed.data;
  return { id, name, url, events };
}

/** Leaf's own error body (`{type, title, status, message, errorKey}`): only message and errorKey are read. */
export function parseLeafErrorBody(body: unknown): { message: string | undefined; errorKey: string | undefined } {
  if (typeof body !== 'object' || body === null) return { message: undefined, errorKey: undefined };
  const { message, errorKey, title } = body as { message?: unknown; errorKey?: unknown; title?: unknown };
  return {
    message: typeof message === 'string' ? message : typeof title === 'string' ? title : undefined,
    errorKey: typeof errorKey === 'string' ? errorKey : undefined,
  };
}

/** Parses `X-Total-Count`; undefined when missing or not a whole number. */
export function parseTotalCount(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\s*\d+\s*$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Finds the URL of `rel="next"` in a `Link` header (RFC 8288), or undefined. */
export function nextLink(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value.join(',') : value;
  if (text === undefined) return undefined;
  for (const match of text.matchAll(/<([^>]*)>\s*((?:;\s*[^;,]*)*)/g)) {
    const params = match[2] ?? '';
    if (/;\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(params)) return match[1];
  }
  return undefined;
}
