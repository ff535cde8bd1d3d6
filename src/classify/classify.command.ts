import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { UsageError, type Command } from '../core/command.js';
import { CredwatchError } from '../errors.js';
import { CATEGORIES, CLIENT_ENVIRONMENTS, REMEDIATION_BY_CATEGORY, type Category, type ClientEnvironment } from './categories.js';
import { normalizeEvent, normalizeEvents } from './normalize-event.js';
import type { Decision } from './classify-event.js';
import { createClassifier, loadRulesFile } from './rules-file.js';
import type { Classification, CredentialEvent } from './types.js';

const HELP = `Usage: credwatch classify [FILE|-] [--environment STAGE|PRODUCTION] [--rules FILE] [--json]

Classifies Leaf credential events: a JSON array exactly as
GET /users/{id}/panorama-credentials/events returns it, read from FILE, or from
stdin when FILE is "-" or absent (and stdin is not a terminal). Elements may also
be fixture wrappers {"clientEnvironment", "event", "expect"} as in the examples file.

Options:
  -e, --environment STAGE|PRODUCTION  the credential's clientEnvironment (enables the
                                      other-environment host hints); overrides the
                                      clientEnvironment of fixture wrappers
  -r, --rules FILE                    extra rules (JSON or YAML), checked before the
                                      built-in ones; the output then also lists what
                                      the file changes (before -> after per event)
      --json                          one JSON object per event and line:
                                      {id, category, action, ruleId, reason}
  -h, --help                          this help

Output: a table (id, date, status, category, reason) oldest first, duplicates
dropped; then the count per category and the credential's verdict with its action.
Bad input exits with status 2 and one line naming the problem.

Examples:
  credwatch classify events.json --environment PRODUCTION
  curl -s ... | credwatch classify --json
`;

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function inputError(message: string, cause?: unknown): CredwatchError {
  return new CredwatchError('INPUT_INVALID', message, cause === undefined ? undefined : { cause });
}

function parseEnvironment(value: string | undefined): ClientEnvironment | undefined {
  if (value === undefined) return undefined;
  const upper = value.trim().toUpperCase();
  const env = CLIENT_ENVIRONMENTS.find((e) => e === upper);
  if (env === undefined) throw new UsageError(`--environment: expected STAGE or PRODUCTION, got "${value}"`);
  return env;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function readInput(file: string | undefined, stdin: Readable): Promise<{ text: string; name: string }> {
  if (file === undefined || file === '-') {
    if (file === undefined && (stdin as { isTTY?: boolean }).isTTY === true) {
      throw new UsageError('no input: give a FILE, or pipe the events on stdin (see --help)');
    }
    return { text: await readAll(stdin), name: 'stdin' };
  }
  try {
    return { text: await readFile(file, 'utf8'), name: file };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw inputError(`cannot read ${file} (${typeof code === 'string' ? code : 'read error'})`, error);
  }
}

interface Entry {
  raw: unknown;
  environment: ClientEnvironment | undefined;
}

/** Checks the shape and unwraps fixture wrappers; throws naming the first bad element's index. */
function toEntries(data: unknown, name: string): Entry[] {
  if (!Array.isArray(data)) throw inputError(`${name}: expected a JSON array of events, got ${kindOf(data)}`);
  return data.map((element: unknown, index): Entry => {
    if (typeof element !== 'object' || element === null || Array.isArray(element)) {
      throw inputError(`${name}: event at index ${index} is not an object (got ${kindOf(element)})`);
    }
    const record = element as Record<string, unknown>;
    if ('event' in record && !('statusCode' in record) && !('body' in record)) {
      const inner = record['event'];
      if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) {
        throw inputError(`${name}: "event" at index ${index} is not an object (got ${kindOf(inner)})`);
      }
      const env = typeof record['clientEnvironment'] === 'string' ? record['clientEnvironment'].toUpperCase() : '';
      return { raw: inner, environment: CLIENT_ENVIRONMENTS.find((e) => e === env) };
    }
    return { raw: element, environment: undefined };
  });
}

function clean(text: string): string {
  // Ids and reasons come from the input: keep the table on one line per event.
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The events whose verdict the operator rules change: built-in verdict before, with the rules after. */
function rulesChanges(
  results: ReadonlyArray<{ event: CredentialEvent; result: Classification }>,
  environmentById: ReadonlyMap<string, ClientEnvironment | undefined>,
): Array<{ event: CredentialEvent; before: Decision; after: Classification }> {
  const builtin = createClassifier();
  const out: Array<{ event: CredentialEvent; before: Decision; after: Classification }> = [];
  for (const { event, result } of results) {
    const before = builtin.decideEvent(event, { clientEnvironment: environmentById.get(event.id) });
    if (before.ruleId !== result.ruleId || before.category !== result.category) out.push({ event, before, after: result });
  }
  return out;
}

/** `credwatch classify`: classifies an events array from a file or stdin and prints the verdict. */
export const classifyCommand: Command = {
  name: 'classify',
  summary: 'Classify Panorama credential events from a file or stdin (table or --json)',
  help: HELP,
  async run(argv, io) {
    let values: { environment?: string | undefined; rules?: string | undefined; json?: boolean | undefined };
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args: argv,
        options: {
          environment: { type: 'string', short: 'e' },
          rules: { type: 'string', short: 'r' },
          json: { type: 'boolean' },
        },
        allowPositionals: true,
        strict: true,
      }));
    } catch (error) {
      throw new UsageError(`${(error as Error).message.split('\n')[0] ?? 'bad arguments'} (see --help)`);
    }
    if (positionals.length > 1) throw new UsageError(`expected at most one FILE, got ${positionals.length}: ${positionals.join(' ')}`);
    const flagEnvironment = parseEnvironment(values.environment);
    const extraRules = values.rules === undefined ? [] : await loadRulesFile(values.rules);
    const classifier = createClassifier({ extraRules });

    const { text, name } = await readInput(positionals[0], io.stdin);
    let data: unknown;
    try {
      data = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (error) {
      throw inputError(`${name}: not valid JSON (${(error as Error).message.split('\n')[0] ?? ''})`, error);
    }
    const entries = toEntries(data, name);

    const environmentById = new Map<string, ClientEnvironment | undefined>();
    const normalized = entries.map((entry, index) => {
      const event = normalizeEvent(entry.raw, index);
      if (!environmentById.has(event.id)) environmentById.set(event.id, flagEnvironment ?? entry.environment);
      return event;
    });
    const events = normalizeEvents(normalized);
    const results: Array<{ event: CredentialEvent; result: Classification }> = events.map((event) => ({
      event,
      result: classifier.classifyEvent(event, { clientEnvironment: environmentById.get(event.id) }),
    }));
    const changes = extraRules.length === 0 ? [] : rulesChanges(results, environmentById);

    if (values.json === true) {
      const before = new Map(changes.map((c) => [c.event.id, c.before]));
      const lines = results.map(({ event, result }) => {
        const was = before.get(event.id);
        const base = { id: event.id, category: result.category, action: result.action, ruleId: result.ruleId, reason: result.reason };
        return JSON.stringify(was === undefined ? base : { ...base, before: { category: was.category, ruleId: was.ruleId } });
      });
      io.stdout.write(lines.length > 0 ? `${lines.join('\n')}\n` : '');
      return 0;
    }

    const environments = new Set(entries.map((e) => flagEnvironment ?? e.environment));
    const verdictEnvironment = flagEnvironment ?? (environments.size === 1 ? [...environments][0] : undefined);
    const verdict = classifier.assessCredential(events, { clientEnvironment: verdictEnvironment });
    const counts = new Map<Category, number>();
    for (const { result } of results) counts.set(result.category, (counts.get(result.category) ?? 0) + 1);

    const out: string[] = [];
    out.push(
      table([
        ['ID', 'DATE', 'STATUS', 'CATEGORY', 'REASON'],
        ...results.map(({ event, result }) => [
          clean(event.id),
          clean(event.createdDate) || '-',
          event.statusCode === null ? '-' : String(event.statusCode),
          result.category,
          clean(result.reason),
        ]),
      ]),
      '',
    );
    const dropped = entries.length - events.length;
    out.push(`${events.length} event(s)${dropped > 0 ? `, ${dropped} duplicate id(s) dropped` : ''}`);
    const width = Math.max(...CATEGORIES.map((c) => c.length));
    for (const category of CATEGORIES) {
      const n = counts.get(category);
      if (n !== undefined) out.push(`  ${category.padEnd(width)}  ${n}`);
    }
    if (values.rules !== undefined) {
      out.push('', `Changed by --rules ${clean(values.rules)}: ${changes.length} of ${results.length} event(s)`);
      for (const c of changes) {
        out.push(`  ${clean(c.event.id)}  ${c.before.category} (${c.before.ruleId}) -> ${c.after.category} (${c.after.ruleId})`);
      }
    }
    out.push('');
    out.push(`Verdict: ${verdict.category} (action: ${verdict.action})${verdict.since ? ` since ${verdict.since}` : ''}`);
    const decidedBy = verdict.decidingEvent ? `event ${clean(verdict.decidingEvent.id)}, ` : '';
    out.push(`  decided by ${decidedBy}rule ${verdict.ruleId}: ${clean(verdict.reason)}`);
    out.push(`  ${REMEDIATION_BY_CATEGORY[verdict.category]}`);
    io.stdout.write(`${out.join('\n')}\n`);
    return 0;
  },
};
