import { VERSION } from './version.js';
import { UsageError, type CliIo, type Command } from './core/command.js';

/** Each command loads lazily so `credwatch classify` never pulls in BullMQ or express. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  // One line per command, added as each lands: start, demo, audit, classify, sim, leaf-alerts.
  start: { summary: 'run the monitor daemon (scheduler, workers, HTTP API)', load: async () => (await import('./main.js')).startCommand },
  demo: {
    summary: 'simulator + webhook receiver + daemon in one command',
    load: async () => (await import('./demo/demo.command.js')).demoCommand,
  },
  sim: {
    summary: 'Run a simulated Leaf API with a seeded population (tests, demos)',
    load: async () => (await import('./sim/sim.command.js')).simCommand,
  },
  audit: {
    summary: 'Check every Leaf credential once and print those needing action (no Redis)',
    load: async () => (await import('./leaf/audit.command.js')).auditCommand,
  },
  classify: {
    summary: 'Classify Panorama credential events from a file or stdin',
    load: async () => (await import('./classify/classify.command.js')).classifyCommand,
  },
  config: {
    summary: 'check the configuration from the environment, or print its table',
    load: async () => (await import('./config.command.js')).configCommand,
  },
  'leaf-alerts': {
    summary: "Register, list or delete Leaf's credential-alert webhook (the push path)",
    load: async () => (await import('./leaf/leaf-alerts.command.js')).leafAlertsCommand,
  },
  rules: {
    summary: 'Turn unclassified failures into classifier rules (rules suggest)',
    load: async () => (await import('./monitor/rules.command.js')).rulesCommand,
  },
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return [
    `credwatch ${VERSION}: watches Leaf credential events, classifies failures, alerts and notifies apps.`,
    '',
    'Usage: credwatch <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    "Run `credwatch <command> --help` for a command's options.",
    'Configuration is read from environment variables: see README.md.',
    '',
  ].join('\n');
}

/** Runs one CLI invocation and returns its exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.stderr.write(`credwatch: unknown command "${name}". Run \`credwatch --help\` for the list.\n`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const prefix = error instanceof UsageError ? `credwatch ${name}: ` : `credwatch ${name}: `;
    io.stderr.write(`${prefix}${message.split('\n').join('\n  ')}\n`);
    return 2;
  }
}

const isEntry = process.argv[1] !== undefined && /credwatch(\.js)?$|cli\.js$/.test(process.argv[1]);
if (isEntry) {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      process.stderr.write(`credwatch: second ${sig}, exiting now\n`);
      process.exit(130);
    }
    controller.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await runCli(process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: controller.signal,
  });
  process.exitCode = code;
  // Long-running commands have closed their handles by now; do not hang on a stray timer.
  setTimeout(() => process.exit(code), 2000).unref();
}
