import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { CATEGORIES, type Category } from '../classify/categories.js';
import { decideEvent } from '../classify/classify-event.js';
import { normalizeEvent } from '../classify/normalize-event.js';
import { parseRules } from '../classify/rules-file.js';
import { suggestRule, type RuleFileEntry } from '../classify/suggest-rule.js';
import { UsageError, type CliIo, type Command } from '../core/command.js';
import { loadConfig } from '../config.js';
import { CredwatchError } from '../errors.js';
import { createLogger } from '../logger.js';
import { createMetrics } from '../metrics/metrics.js';
import { connectRedis } from '../redis-connection.js';
import { VERSION } from '../version.js';
import { UnclassifiedInbox, type InboxSignature } from './unclassified-inbox.js';

const HELP = `Usage: credwatch rules suggest [SIGNATURE_ID] [--category CATEGORY] [--write FILE] [--json]

Reads the unclassified inbox (failures no specific rule recognises, grouped by
signature) from Redis (REDIS_URL, CREDWATCH_PREFIX).

Without SIGNATURE_ID: lists the signatures, most recently seen first.
With SIGNATURE_ID (12 hex digits, or a unique prefix) and --category: prints a
rule matching that signature (status, code, message template), validated by the
same loader as CREDWATCH_RULES_FILE, ready for the operator's rules file.

Options:
  -c, --category CATEGORY  the category the rule assigns (${CATEGORIES.filter((c) => c !== 'healthy').join(', ')})
      --id RULE_ID         the rule id (default local.<category>.<signature>)
  -w, --write FILE         append the rule to FILE (JSON or YAML list, or {rules: [...]}); the
                           whole file is validated before it is replaced. A running daemon
                           with CREDWATCH_RULES_FILE=FILE picks it up without a restart;
                           the signature then leaves the inbox.
      --json               print JSON instead of YAML
  -n, --limit N            signatures listed (default 50)
  -h, --help               this help

Then check what the rule would change: credwatch classify events.json --rules FILE

Examples:
  credwatch rules suggest
  credwatch rules suggest 3f2a9c1d0b7e --category wrong_organization_code --write rules.yaml
`;

function listTable(signatures: readonly InboxSignature[]): string {
  if (signatures.length === 0) return 'The unclassified inbox is empty: every failure seen matched a specific rule.\n';
  const rows = [
    ['ID', 'STATUS', 'CODE', 'EVENTS', 'CREDS', 'LAST SEEN', 'RULE', 'MESSAGE'],
    ...signatures.map((s) => [
      s.id,
      s.statusCode === null ? '-' : String(s.statusCode),
      s.code || '-',
      String(s.count),
      String(s.credentials),
      s.lastSeen,
      s.ruleId,
      s.template,
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n')}\n`;
}

/** Appends `entry` to a rules file, validating the whole result first; replaces the file atomically. */
export async function appendRuleToFile(file: string, entry: RuleFileEntry): Promise<void> {
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT')
      throw new CredwatchError('RULES_INVALID', `rules file ${file}: cannot be read`, { cause: error });
  }
  const isJson = /\.json$/i.test(file) || (!/\.ya?ml$/i.test(file) && /^\s*[[{]/.test(text));
  let data: unknown = text.trim() === '' ? [] : isJson ? JSON.parse(text) : parseYaml(text);
  data ??= [];
  if (Array.isArray(data)) data = [...(data as unknown[]), entry];
  else if (typeof data === 'object' && data !== null && Array.isArray((data as { rules?: unknown }).rules)) {
    data = { ...data, rules: [...(data as { rules: unknown[] }).rules, entry] };
  } else throw new CredwatchError('RULES_INVALID', `rules file ${file}: expected a list of rules, or an object with a "rules" list`);
  parseRules(data, file);
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, isJson ? `${JSON.stringify(data, null, 2)}\n` : stringifyYaml(data), 'utf8');
  await rename(tmp, file);
}

async function withInbox<T>(io: CliIo, work: (inbox: UnclassifiedInbox) => Promise<T>): Promise<T> {
  const config = loadConfig(io.env);
  const logger = createLogger({ level: 'error', format: 'json', destination: io.stderr });
  const metrics = createMetrics(new Registry(), { providers: config.monitor.providers, endpoints: [], version: VERSION });
  const redis = await connectRedis(config, logger, metrics);
  try {
    return await work(new UnclassifiedInbox(redis, config.redis.prefix));
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

/** `credwatch rules suggest`: from the unclassified inbox to a rule for the operator's rules file. */
export const rulesCommand: Command = {
  name: 'rules',
  summary: 'Turn unclassified failures into classifier rules (rules suggest)',
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub !== 'suggest')
      throw new UsageError(`expected the subcommand "suggest", got ${sub === undefined ? 'nothing' : `"${sub}"`} (see --help)`);
    let values: {
      category?: string | undefined;
      id?: string | undefined;
      write?: string | undefined;
      json?: boolean | undefined;
      limit?: string | undefined;
    };
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args: rest,
        options: {
          category: { type: 'string', short: 'c' },
          id: { type: 'string' },
          write: { type: 'string', short: 'w' },
          json: { type: 'boolean' },
          limit: { type: 'string', short: 'n' },
        },
        allowPositionals: true,
        strict: true,
      }));
    } catch (error) {
      throw new UsageError(`${(error as Error).message.split('\n')[0] ?? 'bad arguments'} (see --help)`);
    }
    if (positionals.length > 1) throw new UsageError(`expected at most one SIGNATURE_ID, got ${positionals.length}`);
    const limit = values.limit === undefined ? 50 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new UsageError(`--limit: expected 1-500, got "${values.limit ?? ''}"`);
    const signatureId = positionals[0];
    if (signatureId === undefined) {
      const signatures = await withInbox(io, (inbox) => inbox.list(limit));
      io.stdout.write(values.json === true ? `${JSON.stringify(signatures, null, 2)}\n` : listTable(signatures));
      return 0;
    }
    if (!/^[0-9a-f]{1,12}$/i.test(signatureId))
      throw new UsageError(`SIGNATURE_ID: expected up to 12 hex digits, got "${signatureId.slice(0, 40)}"`);
    const category = values.category;
    if (category === undefined) throw new UsageError(`--category is required with a SIGNATURE_ID: one of ${CATEGORIES.join(', ')}`);
    if (!(CATEGORIES as readonly string[]).includes(category))
      throw new UsageError(`--category: "${category}" is not a category; expected one of ${CATEGORIES.join(', ')}`);
    const signature = await withInbox(io, (inbox) => inbox.get(signatureId));
    if (signature === null)
      throw new UsageError(
        `no signature "${signatureId}" in the unclassified inbox (or the prefix is not unique); run \`credwatch rules suggest\` to list them`,
      );
    const { entry, rule } = suggestRule(signature, category as Category, values.id === undefined ? {} : { id: values.id });
    // Self-check on the stored sample: a rule that would not match its own example is worth a warning.
    const sample = normalizeEvent({ id: signature.sampleEventId, statusCode: signature.statusCode, body: signature.sample });
    if (decideEvent(sample, { clientEnvironment: undefined }, [rule]).ruleId !== rule.id) {
      io.stderr.write(
        `warning: the rule does not match the stored (redacted, shortened) sample of ${signature.id}; check it with credwatch classify --rules\n`,
      );
    }
    io.stdout.write(values.json === true ? `${JSON.stringify(entry, null, 2)}\n` : stringifyYaml([entry]));
    if (values.write !== undefined) {
      await appendRuleToFile(values.write, entry);
      // The signature is handled: it leaves the inbox (it comes back if the rule does not catch it after all).
      await withInbox(io, (inbox) => inbox.remove(signature.id));
      io.stderr.write(`appended rule ${entry.id} to ${values.write}; signature ${signature.id} removed from the inbox\n`);
    }
    return 0;
  },
};
