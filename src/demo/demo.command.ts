import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { UsageError, type Command } from '../core/command.js';
import { parseDuration } from '../duration.js';
import { deleteKeysWithPrefix } from '../local-resources.js';
import { startDaemon, type Daemon } from '../main.js';
import { startSimulator } from '../sim/simulator.js';
import { resolveDemoRedis } from './demo-redis.js';
import { startDemoReceiver } from './demo-receiver.js';
import { runDemoScenario } from './demo-scenario.js';

const SIM_USERNAME = 'demo@example.com';
const SIM_PASSWORD = 'demo-password';

const HELP = `Usage: credwatch demo [options]

Runs everything on this machine, with no Leaf account: the Leaf simulator, a webhook receiver that
verifies and prints what it gets, and the credwatch daemon polling the simulator on a short interval.
It then breaks and heals simulated credentials so you can watch transitions, webhooks and metrics move,
and plays one fleet incident: the partner's password changes (every credential fails the same way:
one incident.opened instead of a re-auth webhook per grower), then is fixed (incident.resolved).

Redis: REDIS_URL (default redis://127.0.0.1:6379) when it answers, else a throwaway redis-server when
one is installed. The demo's keys use their own prefix and are deleted when it stops.

Options:
  --port N          credwatch HTTP port (status page, API, metrics)   default 8080 (0 = any free port)
  --users N         simulated Leaf users                              default 40
  --seed N          simulator seed                                    default 1
  --interval D      sweep interval                                    default 20s
  --no-scenario     do not break and heal credentials
  --duration D      stop by itself after D (e.g. 2m); default: run until Ctrl-C
  -h, --help        show this help
`;

function parse(argv: string[]) {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '8080' },
        users: { type: 'string', default: '40' },
        seed: { type: 'string', default: '1' },
        interval: { type: 'string', default: '20s' },
        'no-scenario': { type: 'boolean', default: false },
        duration: { type: 'string' },
      },
      allowPositionals: false,
    });
    const port = Number(values.port);
    const users = Number(values.users);
    const seed = Number(values.seed);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected 0..65535, got "${values.port}"`);
    if (!Number.isInteger(users) || users < 1 || users > 100_000)
      throw new UsageError(`--users: expected 1..100000, got "${values.users}"`);
    if (!Number.isInteger(seed)) throw new UsageError(`--seed: expected a whole number, got "${values.seed}"`);
    const intervalMs = parseDuration(values.interval);
    if (intervalMs < 2000) throw new UsageError('--interval: expected at least 2s');
    const durationMs = values.duration === undefined ? undefined : parseDuration(values.duration);
    return { port, users, seed, intervalMs, scenario: !values['no-scenario'], durationMs };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message);
  }
}

/** `credwatch demo`: simulator + receiver + daemon, wired together on loopback. */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'simulator + webhook receiver + daemon in one command',
  help: HELP,
  async run(argv, io) {
    const opts = parse(argv);
    const out = (line: string) => io.stdout.write(`${line}\n`);
    const redis = await resolveDemoRedis(io.env);
    const prefix = `credwatch-demo-${randomBytes(3).toString('hex')}`;
    const adminToken = randomBytes(12).toString('hex');
    const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
    const alertsSecret = randomBytes(16).toString('hex');
    const cleanups: Array<() => Promise<void>> = [redis.stop];
    let daemon: Daemon | undefined;
    try {
      const sim = await startSimulator({ users: opts.users, seed: opts.seed, port: 0, username: SIM_USERNAME, password: SIM_PASSWORD });
      cleanups.unshift(() => sim.close());
      const receiver = await startDemoReceiver({
        secret: webhookSecret,
        onWebhook: (w) => {
          const d = w.data;
          if (w.type.startsWith('incident.')) {
            const what =
              w.type === 'incident.opened'
                ? `${String(d['count'])} credentials (${Math.round(Number(d['share']) * 100)} %): ${String(d['likelyCause'])}`
                : `resolution ${String(d['resolution'])}`;
            out(
              `webhook  ${w.type.padEnd(27)} ${String(d['incidentId'])}  ${String(d['signature'])}  ${what}  (${w.verified ? 'signature verified' : 'BAD SIGNATURE'})`,
            );
            return;
          }
          out(
            `webhook  ${w.type.padEnd(27)} user ${String(d['leafUserId'])}  ${String(d['previousCategory'] ?? '-')} -> ${String(d['category'])}` +
              `  (${w.verified ? 'signature verified' : 'BAD SIGNATURE'})`,
          );
        },
      });
      cleanups.unshift(() => receiver.close());
      const env: Record<string, string | undefined> = {
        LEAF_API_URL: sim.url,
        LEAF_USERNAME: SIM_USERNAME,
        LEAF_PASSWORD: SIM_PASSWORD,
        LEAF_ALERTS_SECRET: alertsSecret,
        REDIS_URL: redis.url,
        CREDWATCH_PREFIX: prefix,
        CREDWATCH_POLL_INTERVAL: `${Math.round(opts.intervalMs / 1000)}s`,
        CREDWATCH_LEAF_RPS: '25',
        CREDWATCH_POLL_CONCURRENCY: '8',
        CREDWATCH_ADMIN_TOKEN: adminToken,
        CREDWATCH_PORT: String(opts.port),
        CREDWATCH_HOST: '127.0.0.1',
        CREDWATCH_WEBHOOK_URL: receiver.url,
        CREDWATCH_WEBHOOK_SECRET: webhookSecret,
        CREDWATCH_FLAP_COOLDOWN: '10s',
        // A small fleet and short times, so the fleet incident of the scenario shows within a minute.
        CREDWATCH_INCIDENT_MIN_CREDENTIALS: '8',
        CREDWATCH_INCIDENT_SETTLE: '3s',
        CREDWATCH_INCIDENT_RELEASE_DELAY: '30s',
        CREDWATCH_INCIDENT_CHECK_INTERVAL: '1s',
        LOG_LEVEL: io.env['LOG_LEVEL'] ?? 'warn',
        LOG_FORMAT: io.env['LOG_FORMAT'] ?? 'auto',
      };
      // The demo's keys go with it, also when the daemon fails to start: nothing left in a shared Redis.
      cleanups.unshift(async () => {
        const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
        await deleteKeysWithPrefix(client, prefix);
        client.disconnect();
      });
      daemon = await startDaemon({ env, isTTY: io.stdout.isTTY === true });
      const running = daemon;
      cleanups.unshift(async () => running.close());
      const base = daemon.httpUrl ?? '';
      // Leaf's push path: the simulator signs and sends its alerts to credwatch, as Leaf would.
      const login = (await (
        await fetch(`${sim.url}/api/authenticate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: SIM_USERNAME, password: SIM_PASSWORD, rememberMe: 'true' }),
        })
      ).json()) as { id_token: string };
      await fetch(`${sim.url}/services/alerts/api/alerts/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${login.id_token}` },
        body: JSON.stringify({
          events: ['credentialsUnauthenticated', 'credentialsLimitedPermission'],
          name: 'credwatch-demo',
          secret: alertsSecret,
          url: `${base}/leaf/alerts`,
        }),
      });

      const mix = sim.sim.expected();
      out('');
      out(
        `credwatch demo: ${opts.users} simulated Leaf users, Redis ${redis.url} (${redis.source === 'spawned' ? 'throwaway redis-server' : 'existing'})`,
      );
      out(
        `  simulator     ${sim.url}   expected mix: ${Object.entries(mix)
          .filter(([, n]) => n > 0)
          .map(([c, n]) => `${c} ${n}`)
          .join(', ')}`,
      );
      out(`  status page   ${base}/   (browser login: any user name, password ${adminToken})`);
      out(`  API           curl -H "Authorization: Bearer ${adminToken}" ${base}/api/summary`);
      out(`  metrics       ${daemon.metricsUrl}`);
      out(`  webhooks      delivered to ${receiver.url}, printed below`);
      out(`  sweep every ${Math.round(opts.intervalMs / 1000)}s; Ctrl-C stops and removes the demo's Redis keys`);
      out('');
      await daemon.sweepNow();
      const stopScenario = runDemoScenario({
        simUrl: sim.url,
        apiUrl: base,
        adminToken,
        expected: mix,
        everyMs: Math.max(5000, Math.round(opts.intervalMs / 2)),
        breakAndHeal: opts.scenario,
        incidentAtStep: 4,
        recoverAtStep: 7,
        print: out,
      });
      cleanups.unshift(async () => stopScenario());
      await new Promise<void>((resolve) => {
        if (io.signal.aborted) return resolve();
        io.signal.addEventListener('abort', () => resolve(), { once: true });
        if (opts.durationMs !== undefined) setTimeout(resolve, opts.durationMs).unref();
      });
      out('stopping…');
      return 0;
    } finally {
      for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    }
  },
};
