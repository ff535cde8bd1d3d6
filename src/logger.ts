import { pino, type Logger, type LoggerOptions } from 'pino';
import { redactText } from './redact.js';

export type { Logger } from 'pino';

/** Field paths pino masks wherever they appear in a log object. */
export const REDACT_PATHS = [
  'password',
  'token',
  'secret',
  'accessToken',
  'refreshToken',
  'id_token',
  'authorization',
  'headers.authorization',
  'headers.Authorization',
  '*.password',
  '*.token',
  '*.secret',
  '*.accessToken',
  '*.refreshToken',
  '*.authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
];

/** Serialises an error by its safe fields only: never the request, response or options of an HTTP error. */
export function safeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const out: Record<string, unknown> = { type: error.name, message: redactText(error.message) };
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') out['code'] = code;
    return out;
  }
  return { message: redactText(String(error)) };
}

/** Builds the process logger: JSON, or pretty when asked to or when stdout is a terminal. */
export function createLogger(options: {
  level: string;
  format: 'auto' | 'json' | 'pretty';
  name?: string;
  destination?: NodeJS.WritableStream;
  isTTY?: boolean;
}): Logger {
  const base: LoggerOptions = {
    level: options.level,
    name: options.name ?? 'credwatch',
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: { err: safeError, error: safeError },
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const pretty = options.format === 'pretty' || (options.format === 'auto' && options.isTTY === true);
  if (pretty && options.destination === undefined) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, destination: 1 } } });
  }
  return options.destination === undefined ? pino(base) : pino(base, options.destination as pino.DestinationStream);
}
