import type { Response } from 'express';

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** Sends Leaf's (JHipster problem) error body: `{type, title, status, path, message, errorKey}`. */
export function sendLeafError(res: Response, status: number, message: string, errorKey: string): void {
  const path = res.req.originalUrl.split('?')[0] ?? '/';
  res
    .status(status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: 'https://www.jhipster.tech/problem/problem-with-message',
        title: TITLES[status] ?? 'Error',
        status,
        path,
        message,
        errorKey,
      }),
    );
}

/** Marks a response so that its JSON body is replaced by a malformed one (set by the fault injector). */
export const MALFORMED_LOCAL = 'simMalformedVariant';
/** A `() => void` in res.locals, called when a malformed body is actually sent. */
export const MALFORMED_COUNTER_LOCAL = 'simCountMalformed';

const MALFORMED_HTML =
  '<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body><h1>We will be back soon</h1><p>The service is undergoing maintenance.</p></body></html>\n';

/** res.locals key of the hrtime (ns) at which the simulator began working on a request. */
export const STARTED_LOCAL = 'simStartedNs';

/**
 * Sends a successful JSON answer, or the malformed body the fault injector chose for this request. A
 * `Server-Timing: sim;dur=<ms>` header tells the simulator's own time (injected latency excluded).
 */
export function sendLeafJson(res: Response, value: unknown): void {
  const text = JSON.stringify(value);
  const started: unknown = res.locals[STARTED_LOCAL];
  if (typeof started === 'bigint') res.set('Server-Timing', `sim;dur=${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(3)}`);
  const variant: unknown = res.locals[MALFORMED_LOCAL];
  const count: unknown = res.locals[MALFORMED_COUNTER_LOCAL];
  if (variant !== undefined && typeof count === 'function') count();
  if (variant === 'truncated') {
    res.type('application/json').send(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
  } else if (variant === 'html') {
    res.type('text/html').send(MALFORMED_HTML);
  } else if (variant === 'empty') {
    res.type('application/json').send('');
  } else {
    res.type('application/json').send(text);
  }
}
