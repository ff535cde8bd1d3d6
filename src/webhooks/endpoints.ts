import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CATEGORIES, CLIENT_ENVIRONMENTS, type Category, type ClientEnvironment } from '../classify/categories.js';
import { CredwatchError } from '../errors.js';
import { PROVIDER_IDS, type ProviderId } from '../core/providers.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../core/webhook-event-types.js';
import { secretKey } from './signing.js';

/** Which notifications an endpoint wants; an absent list means "all". */
export interface EndpointFilters {
  events?: WebhookEventType[];
  categories?: Category[];
  providers?: ProviderId[];
  environments?: ClientEnvironment[];
}

/** One configured receiver of credwatch's webhooks. */
export interface WebhookEndpoint {
  /** Label-safe, unique: used in queue names, metrics and the admin API. */
  name: string;
  url: string;
  /** One or more `whsec_<base64>` secrets; every one signs each message (rotation). */
  secrets: string[];
  filters: EndpointFilters;
}

const NAME = /^[a-z0-9_-]{1,40}$/;

const secretSchema = z.string().refine(
  (s) => {
    try {
      return secretKey(s).length > 0;
    } catch {
      return false;
    }
  },
  { message: 'expected whsec_ followed by base64' },
);

const urlSchema = z.string().refine(
  (value) => {
    try {
      const u = new URL(value);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  },
  { message: 'expected an http(s) URL' },
);

const list = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .array(z.enum(values), { message: `expected a list of ${values.join(', ')}` })
    .min(1)
    .optional();

const endpointSchema = z
  .object({
    name: z.string().regex(NAME, { message: 'expected 1 to 40 of a-z, 0-9, _ and -' }),
    url: urlSchema,
    secret: secretSchema.optional(),
    secrets: z.array(secretSchema).min(1).optional(),
    filters: z
      .object({
        events: list(WEBHOOK_EVENT_TYPES),
        categories: list(CATEGORIES),
        providers: list(PROVIDER_IDS as [ProviderId, ...ProviderId[]]),
        environments: list(CLIENT_ENVIRONMENTS),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((e) => (e.secret === undefined) !== (e.secrets === undefined), {
    message: 'give exactly one of secret or secrets',
    path: ['secret'],
  });

function invalid(message: string): CredwatchError {
  return new CredwatchError('WEBHOOKS_INVALID', message);
}

function describe(raw: unknown, index: number): string {
  const name = typeof raw === 'object' && raw !== null ? (raw as { name?: unknown }).name : undefined;
  return typeof name === 'string' && name !== '' ? `endpoint "${name}" (#${index + 1})` : `endpoint #${index + 1}`;
}

/** Validates a parsed endpoints list; throws WEBHOOKS_INVALID naming the endpoint and the field. */
export function parseEndpoints(data: unknown, source: string): WebhookEndpoint[] {
  const items = Array.isArray(data) ? data : (data as { endpoints?: unknown } | null)?.endpoints;
  if (!Array.isArray(items)) throw invalid(`${source}: expected a list of endpoints (or { endpoints: [...] })`);
  const problems: string[] = [];
  const out: WebhookEndpoint[] = [];
  items.forEach((raw: unknown, index) => {
    const parsed = endpointSchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field = issue.path.length > 0 ? issue.path.join('.') : '(endpoint)';
        problems.push(`${describe(raw, index)}: ${field}: ${issue.message}`);
      }
      return;
    }
    const e = parsed.data;
    const filters: EndpointFilters = {};
    if (e.filters?.events) filters.events = e.filters.events;
    if (e.filters?.categories) filters.categories = e.filters.categories;
    if (e.filters?.providers) filters.providers = e.filters.providers;
    if (e.filters?.environments) filters.environments = e.filters.environments;
    out.push({ name: e.name, url: e.url, secrets: e.secrets ?? (e.secret === undefined ? [] : [e.secret]), filters });
  });
  const seen = new Set<string>();
  for (const e of out) {
    if (seen.has(e.name)) problems.push(`endpoint "${e.name}": name: used by more than one endpoint`);
    seen.add(e.name);
  }
  if (problems.length > 0) throw invalid(`${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return out;
}

/**
 * Reads the webhook endpoints: the CREDWATCH_WEBHOOKS_FILE list (JSON or YAML) and/or the single
 * `url` + `secret` endpoint named `default`. Throws WEBHOOKS_INVALID naming the endpoint and field.
 */
export async function loadEndpoints(options: {
  file?: string | undefined;
  url?: string | undefined;
  secret?: string | undefined;
}): Promise<WebhookEndpoint[]> {
  const endpoints: WebhookEndpoint[] = [];
  if (options.file !== undefined) {
    let text: string;
    try {
      text = await readFile(options.file, 'utf8');
    } catch (error) {
      throw invalid(`cannot read webhooks file ${options.file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    let data: unknown;
    try {
      data = /\.json$/i.test(options.file) ? JSON.parse(text) : parseYaml(text);
    } catch (error) {
      throw invalid(`webhooks file ${options.file} is not valid JSON/YAML: ${(error as Error).message.split('\n')[0] ?? ''}`);
    }
    endpoints.push(...parseEndpoints(data, `webhooks file ${options.file}`));
  }
  if (options.url !== undefined || options.secret !== undefined) {
    const single = parseEndpoints(
      [{ name: 'default', url: options.url, secret: options.secret }],
      'CREDWATCH_WEBHOOK_URL/CREDWATCH_WEBHOOK_SECRET',
    );
    if (endpoints.some((e) => e.name === 'default')) {
      throw invalid('endpoint "default": name: used by the webhooks file and by CREDWATCH_WEBHOOK_URL; rename the one in the file');
    }
    endpoints.push(...single);
  }
  return endpoints;
}
