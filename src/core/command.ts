import type { Readable, Writable } from 'node:stream';

/** What a command may touch: its streams and the environment, handed in by cli.ts. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Resolves when SIGINT/SIGTERM arrives (long-running commands wait on it). */
  signal: AbortSignal;
}

/** One `credwatch <name>` command. `run` returns the process exit code. */
export interface Command {
  name: string;
  summary: string;
  /** Full `--help` text. */
  help: string;
  run(argv: string[], io: CliIo): Promise<number>;
}

/** A usage error: cli.ts prints its message on one line and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
