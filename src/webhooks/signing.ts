import { createHmac, timingSafeEqual } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** Decodes a `whsec_<base64>` secret into its HMAC key bytes; throws on any other shape. */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a webhook secret must start with whsec_');
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new Error('a webhook secret must be whsec_ followed by base64');
  return Buffer.from(encoded, 'base64');
}

/** The base64 HMAC-SHA256 of `${msgId}.${timestamp}.${body}` under one secret (Standard Webhooks v1). */
function sign(secret: string, msgId: string, timestamp: number, body: string): string {
  return createHmac('sha256', secretKey(secret)).update(`${msgId}.${timestamp}.${body}`, 'utf8').digest('base64');
}

/**
 * The `webhook-signature` header value: `v1,<base64>` per secret, space-separated, so a receiver holding
 * either the old or the new secret accepts the message during a rotation.
 */
export function signPayload(input: { secrets: readonly string[]; msgId: string; timestamp: number; body: string }): string {
  if (input.secrets.length === 0) throw new Error('at least one webhook secret is needed to sign');
  return input.secrets.map((s) => `v1,${sign(s, input.msgId, input.timestamp, input.body)}`).join(' ');
}

/**
 * True when one of the `v1,` signatures in `header` matches one of `secrets`; compares in constant time.
 * `toleranceSeconds` (default 5 min) rejects a timestamp too far from `nowSeconds` (replay protection).
 */
export function verifySignature(input: {
  secrets: readonly string[];
  msgId: string;
  timestamp: number;
  body: string;
  header: string;
  nowSeconds?: number;
  toleranceSeconds?: number;
}): boolean {
  if (!Number.isSafeInteger(input.timestamp)) return false;
  if (input.nowSeconds !== undefined) {
    const tolerance = input.toleranceSeconds ?? 300;
    if (Math.abs(input.nowSeconds - input.timestamp) > tolerance) return false;
  }
  const given = input.header
    .split(' ')
    .filter((part) => part.startsWith('v1,'))
    .map((part) => Buffer.from(part.slice(3), 'base64'));
  let ok = false;
  for (const secret of input.secrets) {
    const expected = Buffer.from(sign(secret, input.msgId, input.timestamp, input.body), 'base64');
    for (const candidate of given) {
      // No early exit: every pair is compared so timing does not reveal which one matched.
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) ok = true;
    }
  }
  return ok;
}
