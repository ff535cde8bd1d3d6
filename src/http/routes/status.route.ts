import { Router, type Request, type Response } from 'express';
import { CATEGORIES, type Category } from '../../classify/categories.js';
import type { ProviderId } from '../../core/providers.js';
import { safeError, type Logger } from '../../logger.js';
import type { CredentialStore } from '../../monitor/credential-store.js';
import type { InboxSignature } from '../../monitor/unclassified-inbox.js';
import { pageHref, type StatusQuery } from '../status-page/credentials-table.js';
import type { EndpointHealth } from '../status-page/health-sections.js';
import { renderErrorPage } from '../status-page/status-layout.js';
import { renderStatusPage } from '../status-page/status-page.js';
import type { FleetIncident } from '../../incidents/incident-store.js';
import type { CapacityReport } from '../../monitor/capacity.js';

export type { EndpointHealth } from '../status-page/health-sections.js';

/** What the status page reads. `endpoints` fits the webhook service's `endpointsState()`. */
export interface StatusRouteDeps {
  store: CredentialStore;
  providers: readonly ProviderId[];
  endpoints(): Promise<readonly EndpointHealth[]>;
  now?: () => Date;
  version: string;
  /** Credentials per page (default 50). */
  pageSize?: number;
  /**
   * Link to the metrics (default `metrics`, i.e. `/metrics` on this server); null when they are served
   * on CREDWATCH_METRICS_PORT, whose address the browser's view of this host cannot be derived from.
   */
  metricsHref?: string | null | undefined;
  /** Where failures to read the state are logged (the page shows only that they happened). */
  logger?: Logger;
  /** Fleet incidents, for the banner. */
  incidents?: () => Promise<readonly FleetIncident[]>;
  /** The unclassified inbox's most recent signatures (the "Unrecognised failures" section). */
  unclassified?: () => Promise<readonly InboxSignature[]>;
  /** What the Leaf request budget allows (the capacity line of "Sweep and polling"). */
  capacity?: () => Promise<CapacityReport>;
}

/** The headers of every status page response: never cached, nothing loaded from anywhere, no script. */
export const STATUS_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

const QUERY_KEYS = ['provider', 'category', 'cursor', 'externalId', 'refresh'] as const;
const MAX_CURSOR = 300;

/** Parsed page query, or the parameter that is wrong and why. */
export type ParsedStatusQuery = { ok: true; query: StatusQuery } | { ok: false; parameter: string; message: string };

function shown(value: string): string {
  return value.length > 60 ? `${value.slice(0, 59)}…` : value;
}

/**
 * Validates `?provider=&category=&cursor=`. Empty values mean "not given" (what an HTML form sends);
 * an unknown or repeated parameter is an error naming it.
 */
export function parseStatusQuery(raw: Record<string, unknown>, providers: readonly ProviderId[]): ParsedStatusQuery {
  const values: Partial<Record<(typeof QUERY_KEYS)[number], string>> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!(QUERY_KEYS as readonly string[]).includes(key)) {
      return {
        ok: false,
        parameter: key,
        message: `unknown query parameter "${shown(key)}"; the page takes provider, category, cursor, externalId and refresh`,
      };
    }
    if (typeof value !== 'string') return { ok: false, parameter: key, message: `${key}: give it once, as text` };
    if (value !== '') values[key as (typeof QUERY_KEYS)[number]] = value;
  }
  const provider = values.provider ?? providers[0];
  if (provider === undefined || !(providers as readonly string[]).includes(provider)) {
    return {
      ok: false,
      parameter: 'provider',
      message: `provider: "${shown(provider ?? '')}" is not watched here; expected one of ${providers.join(', ')}`,
    };
  }
  const category = values.category;
  if (category !== undefined && !(CATEGORIES as readonly string[]).includes(category)) {
    return {
      ok: false,
      parameter: 'category',
      message: `category: "${shown(category)}" is not a category; expected one of ${CATEGORIES.join(', ')}`,
    };
  }
  const cursor = values.cursor;
  if (cursor !== undefined) {
    // The store's cursor starts with the category (`category|…`, CredentialStore.list); one from another listing would show the wrong rows.
    const cursorCategory = cursor.split('|', 1)[0] ?? '';
    const fits = category === undefined ? cursorCategory !== 'healthy' : cursorCategory === category;
    if (cursor.length > MAX_CURSOR || !cursor.includes('|') || !(CATEGORIES as readonly string[]).includes(cursorCategory) || !fits) {
      return {
        ok: false,
        parameter: 'cursor',
        message: 'cursor: not a cursor from this page\'s "Next page" link; open the first page again',
      };
    }
  }
  const query: StatusQuery = { provider: provider as ProviderId, category: category as Category | undefined, cursor };
  if (values.externalId !== undefined) {
    if (values.externalId.length > 200) return { ok: false, parameter: 'externalId', message: 'externalId: at most 200 characters' };
    query.externalId = values.externalId;
  }
  if (values.refresh !== undefined) {
    const seconds = Number(values.refresh);
    if (!Number.isInteger(seconds) || seconds < 5 || seconds > 3600) {
      return {
        ok: false,
        parameter: 'refresh',
        message: `refresh: "${shown(values.refresh)}" is not a whole number of seconds from 5 to 3600`,
      };
    }
    query.refresh = seconds;
  }
  return { ok: true, query };
}

// Without a category filter the page lists every failing category. The store orders its listing by
// CATEGORIES (healthy first) and a cursor naming only a category starts at that category: this skips
// the healthy credentials without scanning them.
const FIRST_FAILING = CATEGORIES.find((c) => c !== 'healthy') ?? 'unclassified';

function send(res: Response, status: number, body: string): void {
  res.status(status).set(STATUS_PAGE_HEADERS).type('html').send(body);
}

/** `GET /`: the server-rendered status page (mount it as a browser router, behind the admin token). */
export function createStatusRouter(deps: StatusRouteDeps): Router {
  const router = Router();
  const now = deps.now ?? (() => new Date());
  const pageSize = deps.pageSize ?? 50;

  router.get('/', async (req: Request, res: Response) => {
    const parsed = parseStatusQuery(req.query as Record<string, unknown>, deps.providers);
    if (!parsed.ok) {
      send(
        res,
        400,
        String(renderErrorPage({ status: 400, title: `Bad query parameter "${shown(parsed.parameter)}"`, message: parsed.message })),
      );
      return;
    }
    const q = parsed.query;
    const at = now();
    const endpoints = deps.endpoints().catch((error: unknown) => {
      deps.logger?.warn({ err: safeError(error) }, 'status page could not read the webhook state');
      return null;
    });
    const incidents = (deps.incidents?.() ?? Promise.resolve(undefined)).catch((error: unknown) => {
      deps.logger?.warn({ err: safeError(error) }, 'status page could not read the fleet incidents');
      return undefined;
    });
    let state;
    try {
      state = await Promise.all([
        deps.store.counts(),
        q.externalId === undefined
          ? deps.store.list({
              provider: q.provider,
              category: q.category,
              limit: pageSize,
              cursor: q.cursor ?? (q.category === undefined ? FIRST_FAILING : undefined),
            })
          : deps.store.findByExternalId(q.provider, q.externalId).then((found) => ({
              items: found.filter((s) => q.category === undefined || s.category === q.category).slice(0, pageSize),
              nextCursor: null,
            })),
        deps.store.sweeps.info(),
        deps.store.oldestPollAges(at.getTime()),
        endpoints,
      ]);
    } catch (error) {
      // Most likely Redis is unreachable: say so in a page a browser shows, and keep details in the log.
      deps.logger?.error({ err: safeError(error) }, 'status page could not read the credential state');
      const message = 'credwatch could not read its state from Redis. Check that Redis is reachable; the credwatch log has the details.';
      send(res, 503, String(renderErrorPage({ status: 503, title: 'State unavailable', message, back: pageHref(q) })));
      return;
    }
    const [counts, page, sweep, ages, endpointRows] = state;
    // Optional sections: a failure to read one is logged and shown in its section, not as a failed page.
    const optional = async <T>(read: (() => Promise<T>) | undefined, what: string): Promise<T | null | undefined> =>
      read === undefined
        ? undefined
        : read().catch((error: unknown) => {
            deps.logger?.warn({ err: safeError(error) }, `status page could not read the ${what}`);
            return null;
          });
    const unclassified = await optional(deps.unclassified, 'unclassified inbox');
    const capacity = await optional(deps.capacity, 'polling capacity');
    const html = renderStatusPage({
      version: deps.version,
      now: at,
      providers: deps.providers,
      query: q,
      counts: counts.filter((c) => c.provider === q.provider),
      page,
      sweep,
      oldestPollAgeSeconds: ages.find((a) => a.provider === q.provider)?.ageSeconds ?? null,
      endpoints: endpointRows,
      metricsHref: deps.metricsHref === undefined ? 'metrics' : deps.metricsHref,
      incidents: await incidents,
      ...(unclassified === undefined ? {} : { unclassified }),
      ...(capacity === undefined ? {} : { capacity }),
    });
    send(res, 200, String(html));
  });

  return router;
}
