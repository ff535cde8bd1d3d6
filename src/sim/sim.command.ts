import { parseArgs } from 'node:util';
import { CATEGORIES } from '../classify/categories.js';
import { UsageError, type CliIo, type Command } from '../core/command.js';
import { startSimulator } from './simulator.js';

const HELP = `Usage: credwatch sim [options]

Runs a simulated Leaf API (users, Panorama credentials and events, alert webhooks) with a seeded
population, plus a JSON control API under /_sim to script scenarios (see docs/simulator.md).
Prints the expected category mix, then "listening on http://HOST:PORT" once ready. Stops on SIGINT/SIGTERM.

Options:
  --port N          port to listen on; 0 picks a free one (default 8090)
  --host H          address to bind (default 127.0.0.1)
  --users N         seeded users, 0 to 1000000 (default 200)
  --seed S          population seed: the same seed gives the same users (default 1)
  --username U      Leaf account accepted by POST /api/authenticate (default demo@example.com)
  --password P      its password (default demo-password)
  --latency MS      latency added to every Leaf answer (default 0)
  -h, --help        show this help
`;

function wholeNumber(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`--${name} expects a whole number, got "${value}"`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be from ${min} to ${max}, got ${value}`);
  return n;
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        users: { type: 'string' },
        seed: { type: 'string' },
        username: { type: 'string' },
        password: { type: 'string' },
        latency: { type: 'string' },
      },
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run \`credwatch sim --help\`.`);
  }
}

/** `credwatch sim`: serves the Leaf simulator until SIGINT/SIGTERM. */
export const simCommand: Command = {
  name: 'sim',
  summary: 'Run a simulated Leaf API with a seeded population (tests, demos)',
  help: HELP,
  async run(argv: string[], io: CliIo): Promise<number> {
    const values = parse(argv);
    const port = wholeNumber('port', values.port, 8090, 0, 65535);
    const users = wholeNumber('users', values.users, 200, 0, 1_000_000);
    const seed = wholeNumber('seed', values.seed, 1, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const latencyMs = wholeNumber('latency', values.latency, 0, 0, 60_000);
    if ((values.username === undefined) !== (values.password === undefined)) {
      throw new UsageError('give --username and --password together');
    }
    if (values.username === '' || values.password === '') throw new UsageError('--username and --password must not be empty');
    const host = values.host ?? '127.0.0.1';
    if (io.signal.aborted) return 0;
    const started = await startSimulator({
      users,
      seed,
      latencyMs,
      host,
      port,
      ...(values.username === undefined ? {} : { username: values.username }),
      ...(values.password === undefined ? {} : { password: values.password }),
    }).catch((error: unknown) => {
      const code = (error as { code?: unknown }).code;
      if (code === 'EADDRINUSE') throw new Error(`port ${port} on ${host} is already in use (try --port 0)`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new Error(`cannot bind to host ${host}`);
      throw error;
    });
    const mix = started.sim.expected();
    io.stdout.write(`credwatch sim: ${users} seeded users, seed ${seed}. Expected categories:\n`);
    const width = Math.max(...CATEGORIES.map((c) => c.length));
    for (const category of CATEGORIES) {
      const count = mix[category];
      const share = users === 0 ? 0 : (100 * count) / users;
      io.stdout.write(`  ${category.padEnd(width)}  ${String(count).padStart(7)}  ${share.toFixed(1).padStart(5)}%\n`);
    }
    // Never print the password, not even the documented default.
    const passwordNote = values.password === undefined ? 'the default password, see --help' : 'the --password given';
    io.stdout.write(`Leaf account: ${values.username ?? 'demo@example.com'} with ${passwordNote}\n`);
    io.stdout.write(`listening on ${started.url}\n`);
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await started.close();
    io.stderr.write('credwatch sim: stopped\n');
    return 0;
  },
};
