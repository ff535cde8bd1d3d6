import type { Category, ClientEnvironment } from '../classify/categories.js';

/** A credential event exactly as the simulator serves it on `/events` (extra fields allowed). */
export interface SimEvent {
  id: string;
  /** null when scripted so: Leaf's shapes are undocumented, the client must tolerate them. */
  createdDate: string | null;
  /** A number, a numeric string, or whatever was scripted (null, missing). */
  statusCode: unknown;
  headers: unknown;
  body: unknown;
  [extra: string]: unknown;
}

/** A Panorama credential as Leaf returns it (tokens are fake but look real). */
export interface SimCredential {
  id: string;
  status: string;
  createdTime: string;
  clientId: string;
  username: string;
  organizationCode: string;
  clientEnvironment: ClientEnvironment;
  accessToken: string;
  refreshToken: string;
}

/** A Leaf user as `GET /users` lists it. */
export interface SimUserProfile {
  id: string;
  name: string;
  email: string;
  externalId: string;
}

/** Everything the control API tells about one user. */
export interface SimUserView extends SimUserProfile {
  credential: SimCredential | null;
  events: SimEvent[];
  expectedCategory: Category;
}

/** Faults injected on Leaf routes (never on `/_sim`). */
export interface SimFaults {
  /** Added to every Leaf answer, in milliseconds. */
  latencyMs: number;
  /** Share (0..1) of Leaf requests answered with a 5xx. */
  errorRate: number;
  /** Share (0..1) of successful JSON answers replaced by a malformed body. */
  malformedRate: number;
  /** Leaf requests accepted per 1 s sliding window; 0 means no limit. */
  rateLimitRps: number;
}

/** One request the rate limit refused: the window held `rateLimitRps` requests, the oldest `oldestAgeMs` old. */
export interface RateLimitedRequest {
  /** Epoch ms of the refusal. */
  atMs: number;
  route: string;
  oldestAgeMs: number;
  /** Length of a stall of the simulator's event loop that ended just before the oldest request was stamped (null: none). */
  oldestAfterStallMs: number | null;
}

/** Counters the simulator keeps, served by `GET /_sim/stats`. */
export interface SimStats {
  /** Leaf requests served, per route name. */
  requests: Record<string, number>;
  /** 429 answers sent by the rate limit. */
  rateLimited: number;
  /** The last RECENT_429_LIMIT of those 429s: when, on which route, and how old the window's oldest request was. */
  rateLimitedRecent: RateLimitedRequest[];
  /** 5xx answers injected by `errorRate`. */
  injectedErrors: number;
  /** Malformed bodies injected by `malformedRate`. */
  malformedBodies: number;
  /** Leaf requests received during the last second. */
  currentRps: number;
  alerts: { sent: number; failed: number; retried: number; confirmations: number };
}
