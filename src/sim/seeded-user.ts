import type { ClientEnvironment } from '../classify/categories.js';
import { createRng, mixSeed, rngUuid, type Rng } from './prng.js';
import { scenarioAt } from './scenarios.js';
import type { SimCredential, SimEvent, SimUserProfile } from './types.js';
import { SUCCESS, fakeJwt, fakeRefreshToken, type Exchange } from './wording.js';

// Every seeded user is a pure function of (population seed, index, anchor time): nothing per user is
// stored but its scenario index. Each aspect draws from its own stream so that generating events never
// needs the profile's draws.
const PROFILE_STREAM = 1;
const CREDENTIAL_STREAM = 2;
const EVENTS_STREAM = 3;

const FIRST = [
  'Ana',
  'Ben',
  'Carla',
  'Dale',
  'Erin',
  'Frank',
  'Gina',
  'Hank',
  'Iris',
  'Jon',
  'Kara',
  'Luis',
  'Mae',
  'Ned',
  'Olga',
  'Pete',
] as const;
const LAST = [
  'Miller',
  'Schmidt',
  'Olsen',
  'Garcia',
  'Brooks',
  'Nguyen',
  'Weber',
  'Hansen',
  'Silva',
  'Fischer',
  'Kowalski',
  'Larsen',
] as const;
const DOMAINS = ['example-farms.com', 'growers.example.org', 'agmail.example.net'] as const;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The per-user seed of user `index` in a population seeded with `seed`. */
export function userSeed(seed: number, index: number): number {
  return mixSeed(seed >>> 0, index);
}

/** The Leaf id of seeded user `index` (stable for a seed, whatever the population size). */
export function seededUserId(seed: number, index: number): string {
  return rngUuid(createRng(mixSeed(userSeed(seed, index), 0)));
}

/** The profile of seeded user `index`. */
export function seededProfile(seed: number, index: number, id: string): SimUserProfile {
  const rng = createRng(mixSeed(userSeed(seed, index), PROFILE_STREAM));
  const first = rng.pick(FIRST);
  const last = rng.pick(LAST);
  return {
    id,
    name: `${first} ${last}`,
    email: `${first}.${last}.${index}@${rng.pick(DOMAINS)}`.toLowerCase(),
    externalId: rng.chance(0.5) ? `grower-${100000 + index}` : `crm-${rng.hex(4)}-${index}`,
  };
}

/** A Cognito-style app client id: 26 lowercase alphanumerics. */
export function cognitoClientId(rng: Rng): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < 26; i += 1) out += alphabet[rng.int(0, alphabet.length - 1)] ?? 'a';
  return out;
}

/** A fresh credential drawn from `rng` (used for seeded users and for ones the control API creates). */
export function drawCredential(
  rng: Rng,
  anchorMs: number,
  fields: { username: string; env?: ClientEnvironment; status?: string },
  withTokens = true,
): SimCredential {
  const letters = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
  const env = fields.env ?? (rng.chance(0.8) ? 'PRODUCTION' : 'STAGE');
  const credential: SimCredential = {
    id: rngUuid(rng),
    status: fields.status ?? 'OK',
    createdTime: new Date(anchorMs - rng.int(15, 400) * DAY - rng.int(0, DAY)).toISOString(),
    clientId: cognitoClientId(rng),
    username: fields.username,
    organizationCode: `${letters[rng.int(0, 23)] ?? 'A'}${letters[rng.int(0, 23)] ?? 'B'}${rng.int(1000, 9999)}`,
    clientEnvironment: env,
    accessToken: '',
    refreshToken: '',
  };
  // Tokens are drawn last, so skipping them (to build an event log) leaves every other field the same.
  if (withTokens) {
    credential.accessToken = fakeJwt(rng);
    credential.refreshToken = fakeRefreshToken(rng);
  }
  return credential;
}

/**
 * The credential of seeded user `index`, or null when its scenario has none. Without tokens (empty
 * strings) when only its other fields are needed.
 */
export function seededCredential(
  seed: number,
  index: number,
  scenarioIndex: number,
  anchorMs: number,
  withTokens = true,
): SimCredential | null {
  const scenario = scenarioAt(scenarioIndex);
  if (!scenario.connected) return null;
  const rng = createRng(mixSeed(userSeed(seed, index), CREDENTIAL_STREAM));
  const env: ClientEnvironment = rng.chance(0.8) ? 'PRODUCTION' : 'STAGE';
  const status = scenario.status(rng);
  return drawCredential(rng, anchorMs, { username: `partner-${rng.hex(6)}`, env, status }, withTokens);
}

/** How one user's log is formatted: Leaf's undocumented variations, chosen per user. */
interface Style {
  fraction: 0 | 3 | 6;
  headers: 'json' | 'lines' | 'empty';
  order: 'asc' | 'desc' | 'shuffled';
  stringStatus: boolean;
  duplicate: boolean;
  extras: boolean;
}

/** `ms` as ISO 8601 with 0, 3 or 6 fractional digits. */
export function isoDate(ms: number, fraction: 0 | 3 | 6, micros = 0): string {
  const iso = new Date(ms).toISOString();
  if (fraction === 3) return iso;
  if (fraction === 0) return `${iso.slice(0, 19)}Z`;
  return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

function headerString(rng: Rng, style: Style, exchange: Exchange, atMs: number): string {
  const kind = style.headers === 'empty' && exchange.headers !== undefined ? 'lines' : style.headers;
  if (kind === 'empty') return '';
  const body = exchange.body;
  const headers: Array<[string, string]> = [
    ['Content-Type', body.startsWith('<') ? 'text/html' : body.startsWith('{') ? 'application/x-amz-json-1.1' : 'text/plain'],
    ['Date', new Date(atMs).toUTCString()],
    ['x-amzn-RequestId', rngUuid(rng)],
    ['Content-Length', String(Buffer.byteLength(body))],
  ];
  if (exchange.headers !== undefined) headers.push(...Object.entries(exchange.headers));
  if (kind === 'json') return JSON.stringify(Object.fromEntries(headers));
  let out = '';
  for (const [name, value] of headers) out += out === '' ? `${name}: ${value}` : `\n${name}: ${value}`;
  return out;
}

/** The event log of seeded user `index`: successful syncs over recent days, then its scenario's tail. */
export function seededEvents(seed: number, index: number, scenarioIndex: number, credential: SimCredential, anchorMs: number): SimEvent[] {
  const rng = createRng(mixSeed(userSeed(seed, index), EVENTS_STREAM));
  const scenario = scenarioAt(scenarioIndex);
  const style: Style = {
    fraction: rng.pick([3, 3, 6, 6, 0] as const),
    headers: rng.pick(['json', 'lines', 'lines', 'empty'] as const),
    order: rng.pick(['asc', 'asc', 'desc', 'shuffled'] as const),
    stringStatus: rng.chance(0.2),
    duplicate: rng.chance(0.05),
    extras: rng.chance(0.3),
  };
  const ctx = { env: credential.clientEnvironment, clientId: credential.clientId, organizationCode: credential.organizationCode };
  const intervalMs = rng.int(2, 8) * HOUR;
  const historyCount = Math.max(2, Math.floor((rng.int(1, 10) * DAY) / intervalMs));
  const tail = scenario.tail(rng, ctx);
  const exchanges: Exchange[] = [];
  for (let i = 0; i < historyCount; i += 1) exchanges.push(rng.pick(SUCCESS)(rng, ctx));
  exchanges.push(...tail);

  // Walk back from the newest: tail exchanges are Leaf's retries minutes apart, history hours apart.
  let at = anchorMs - rng.int(2, 90) * MINUTE;
  const times: number[] = new Array<number>(exchanges.length);
  for (let i = exchanges.length - 1; i >= 0; i -= 1) {
    times[i] = at;
    const inTail = i >= historyCount;
    at -= inTail ? rng.int(10, 60) * MINUTE : intervalMs + rng.int(-10, 10) * MINUTE;
  }
  const events: SimEvent[] = exchanges.map((exchange, i) => {
    const atMs = times[i] ?? anchorMs;
    const event: SimEvent = {
      id: rngUuid(rng),
      createdDate: isoDate(atMs, style.fraction, rng.int(0, 999)),
      statusCode: style.stringStatus && rng.chance(0.5) ? String(exchange.statusCode) : exchange.statusCode,
      headers: headerString(rng, style, exchange, atMs),
      body: exchange.body,
    };
    if (style.extras) {
      event['durationMs'] = rng.int(40, 2500);
      event['attempt'] = 1;
      event['requestMethod'] = rng.pick(['GET', 'POST']);
    }
    return event;
  });
  if (style.order === 'desc') events.reverse();
  if (style.order === 'shuffled') {
    for (let i = events.length - 1; i > 0; i -= 1) {
      const j = rng.int(0, i);
      const a = events[i];
      const b = events[j];
      if (a !== undefined && b !== undefined) {
        events[i] = b;
        events[j] = a;
      }
    }
  }
  if (style.duplicate && events.length > 0) {
    const copy = events[rng.int(0, events.length - 1)];
    if (copy !== undefined) events.splice(rng.int(0, events.length), 0, { ...copy });
  }
  return events;
}
