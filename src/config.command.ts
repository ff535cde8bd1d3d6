import { parseArgs } from 'node:util';
import { UsageError, type CliIo, type Command } from './core/command.js';
import { ConfigError, describeConfig, loadConfig, renderConfigTable } from './config.js';

const HELP = `Usage: credwatch config [--markdown]

Checks the configuration that \`credwatch start\` would read from the environment and prints every
variable with its value (defaults marked; passwords, tokens and secrets shown only as set).
Exit code 0 when the configuration is valid, 2 with one line per bad variable otherwise.

Options:
  --markdown   print the configuration table of README.md (variable, default, meaning) instead
  -h, --help   show this help
`;

/** \`credwatch config\`: validates and shows the configuration, or prints its documentation table. */
export const configCommand: Command = {
  name: 'config',
  summary: 'check the configuration from the environment, or print its documentation table',
  help: HELP,
  async run(argv: string[], io: CliIo): Promise<number> {
    let markdown: boolean | undefined;
    try {
      ({
        values: { markdown },
      } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: { markdown: { type: 'boolean' } } }));
    } catch (error) {
      throw new UsageError(`${(error as Error).message}. Run \`credwatch config --help\`.`);
    }
    if (markdown === true) {
      io.stdout.write(`${renderConfigTable()}\n`);
      return 0;
    }
    io.stdout.write(`${describeConfig(io.env).join('\n')}\n`);
    try {
      loadConfig(io.env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      io.stderr.write(`credwatch config: ${error.message.split('\n').join('\n  ')}\n`);
      return 2;
    }
    io.stderr.write('configuration is valid\n');
    return 0;
  },
};
