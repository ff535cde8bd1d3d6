import { parseArgs } from 'node:util';
import { UsageError, type CliIo, type Command } from '../core/command.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { isLeafError } from './errors.js';
import { createLeafClient } from './create-leaf-client.js';
import type { LeafClient } from './leaf-client.js';
import { MemoryRequestBudget } from './request-budget.js';
import type { AlertWebhook } from './schemas.js';
import { MemoryTokenStore } from './token-store.js';
import { redactText } from '../redact.js';

/** The Leaf alert events credwatch listens to. */
export const LEAF_ALERT_EVENTS = ['credentialsUnauthenticated', 'credentialsLimitedPermission'] as const;

const HELP = `Usage: credwatch leaf-alerts <register|list|delete> [options]

Manages the webhook through which Leaf pushes its own credential alerts to credwatch's POST /leaf/alerts,
so a broken credential is polled at once instead of at the next sweep.

  credwatch leaf-alerts register --url URL [--name NAME]
      Registers URL (credwatch's public https://.../leaf/alerts) for the events
      ${LEAF_ALERT_EVENTS.join(' and ')}, signed with LEAF_ALERTS_SECRET.
      --name NAME   the webhook's name at Leaf (default credwatch)
      Leaf allows one webhook per event: when one already listens, it is shown and the exit status is 1
      (delete it first to replace it; Leaf webhooks cannot be updated).
  credwatch leaf-alerts list [--json]
      Lists the alert webhooks registered at Leaf (Leaf never shows their secrets).
  credwatch leaf-alerts delete ID
      Deletes the alert webhook ID.

Common options:
  --leaf-url URL   Leaf base URL (default: LEAF_API_URL, else https://api.withleaf.io)
  -h, --help       this help

Leaf credentials come from LEAF_TOKEN, or LEAF_USERNAME and LEAF_PASSWORD.
Exit status: 0 done, 1 refused by Leaf (event already registered, unknown id), 2 error.
`;

interface Flags {
  sub: 'register' | 'list' | 'delete';
  url: string | undefined;
  name: string;
  id: string | undefined;
  json: boolean;
  leafUrl: string | undefined;
}

function httpUrl(option: string, value: string): string {
  let ok: boolean;
  try {
    ok = ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    ok = false;
  }
  if (!ok) throw new UsageError(`${option}: expected an http(s) URL, got "${redactText(value)}"`);
  return value;
}

/** Parses `credwatch leaf-alerts` arguments; throws UsageError naming the bad option. */
export function parseLeafAlertsArgs(argv: string[]): Flags {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: { url: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' }, 'leaf-url': { type: 'string' } },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0] ?? 'bad arguments'} (see --help)`);
  }
  const [sub, ...rest] = positionals;
  if (sub !== 'register' && sub !== 'list' && sub !== 'delete') {
    throw new UsageError(
      sub === undefined
        ? 'expected a subcommand: register, list or delete (see --help)'
        : `unknown subcommand "${sub}"; expected register, list or delete`,
    );
  }
  const text = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const flags: Flags = {
    sub,
    url: text('url'),
    name: text('name') ?? 'credwatch',
    id: undefined,
    json: values['json'] === true,
    leafUrl: text('leaf-url') === undefined ? undefined : httpUrl('--leaf-url', text('leaf-url') as string).replace(/\/+$/, ''),
  };
  const allowed: Record<Flags['sub'], string[]> = {
    register: ['url', 'name', 'leaf-url'],
    list: ['json', 'leaf-url'],
    delete: ['leaf-url'],
  };
  const extra = Object.keys(values).find((k) => !allowed[sub].includes(k));
  if (extra !== undefined) throw new UsageError(`--${extra} does not apply to "${sub}" (see --help)`);
  if (sub === 'register') {
    if (rest.length > 0) throw new UsageError(`register takes no positional argument, got "${rest[0] ?? ''}"`);
    if (flags.url === undefined) throw new UsageError("register: --url is required (the public URL of credwatch's /leaf/alerts)");
    httpUrl('--url', flags.url);
    if (flags.name.trim() === '' || flags.name.length > 100) throw new UsageError('--name: expected 1 to 100 characters');
  } else if (sub === 'delete') {
    if (rest.length !== 1 || rest[0] === '')
      throw new UsageError('delete: expected exactly one webhook ID (see `credwatch leaf-alerts list`)');
    flags.id = rest[0];
  } else if (rest.length > 0) {
    throw new UsageError(`list takes no positional argument, got "${rest[0] ?? ''}"`);
  }
  return flags;
}

function table(hooks: readonly AlertWebhook[]): string {
  if (hooks.length === 0) return 'No alert webhook is registered at Leaf.\n';
  const header = ['ID', 'NAME', 'EVENTS', 'URL'];
  const rows = hooks.map((h) => [h.id, h.name ?? '-', h.events.join(','), redactText(h.url ?? '-')]);
  const widths = header.map((t, i) => Math.max(t.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i] ?? 0))).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function client(config: Config, leafUrl: string | undefined): LeafClient {
  return createLeafClient(config.leaf, {
    apiUrl: leafUrl,
    budget: new MemoryRequestBudget(config.monitor.leafRps),
    tokenStore: new MemoryTokenStore(),
  });
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const fail = (message: string, code = 2): number => {
    io.stderr.write(`credwatch leaf-alerts: ${redactText(message).replace(/\s*\n\s*/g, '; ')}\n`);
    return code;
  };
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(HELP);
    return 0;
  }
  let flags: Flags;
  let config: Config;
  try {
    flags = parseLeafAlertsArgs(argv);
    config = loadConfig(io.env);
  } catch (error) {
    if (error instanceof ConfigError) return fail(`invalid configuration: ${error.problems.join('; ')}`);
    if (error instanceof UsageError) return fail(error.message);
    throw error;
  }
  if (config.leaf.token === undefined && config.leaf.username === undefined)
    return fail('no Leaf credentials: set LEAF_TOKEN, or LEAF_USERNAME and LEAF_PASSWORD');
  if (flags.sub === 'register' && config.leaf.alertsSecret === undefined)
    return fail('LEAF_ALERTS_SECRET is not set: Leaf signs its alerts with it and credwatch verifies them');
  const leaf = client(config, flags.leafUrl);
  try {
    if (flags.sub === 'list') {
      const hooks = await leaf.listAlertWebhooks();
      io.stdout.write(flags.json ? `${JSON.stringify(hooks)}\n` : table(hooks));
      return 0;
    }
    if (flags.sub === 'delete') {
      await leaf.deleteAlertWebhook(flags.id ?? '');
      io.stdout.write(`Deleted alert webhook ${flags.id ?? ''}.\n`);
      return 0;
    }
    try {
      const hook = await leaf.createAlertWebhook({
        events: [...LEAF_ALERT_EVENTS],
        name: flags.name,
        secret: config.leaf.alertsSecret ?? '',
        url: flags.url ?? '',
      });
      io.stdout.write(
        `Registered alert webhook ${hook.id} (${hook.name ?? flags.name}) for ${hook.events.join(', ')} -> ${redactText(hook.url ?? flags.url ?? '')}\n`,
      );
      return 0;
    } catch (error) {
      if (!isLeafError(error) || error.errorKey !== 'eventRegisteredTwice') throw error;
      const taken = (await leaf.listAlertWebhooks()).filter((h) =>
        h.events.some((e) => (LEAF_ALERT_EVENTS as readonly string[]).includes(e)),
      );
      io.stderr.write(
        'credwatch leaf-alerts: Leaf already has a webhook for these events (one webhook per event; delete it first to replace it):\n',
      );
      io.stdout.write(table(taken));
      return 1;
    }
  } catch (error) {
    if (isLeafError(error, 'LEAF_NOT_FOUND')) return fail(`no alert webhook ${flags.id ?? ''} at Leaf`, 1);
    if (isLeafError(error)) return fail(error.message);
    throw error;
  } finally {
    leaf.close();
  }
}

/** `credwatch leaf-alerts register|list|delete`: manages Leaf's push of credential alerts to credwatch. */
export const leafAlertsCommand: Command = {
  name: 'leaf-alerts',
  summary: "Register, list or delete Leaf's credential-alert webhook (the push path)",
  help: HELP,
  run,
};
