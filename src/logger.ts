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
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number') out['status'] = status;
    const cause = error.cause;
    if (cause instanceof Error) {
      // The network cause (ECONNREFUSED, ENOTFOUND, ETIMEDOUT) is what an operator needs to act on.
      const causeCode = (cause as { code?: unknown }).code;
      if (typeof causeCode === 'string') out['causeCode'] = causeCode;
      out['cause'] = redactText(cause.message);
    }
    return out;
  }
  if (isSafeErrorShape(error)) return { ...error, message: redactText(error['message'] as string) };
  return { message: redactText(String(error)) };
}

const SAFE_ERROR_FIELDS = new Set(['type', 'message', 'code', 'status', 'causeCode', 'cause']);

/** True for what safeError already returned: a second pass (the pino `err` serializer) keeps it as it is. */
function isSafeErrorShape(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const fields = value as Record<string, unknown>;
  return typeof fields['message'] === 'string' && Object.keys(fields).every((key) => SAFE_ERROR_FIELDS.has(key));
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
