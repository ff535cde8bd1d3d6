import { channel } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';

/**
 * Told, shortly after a request's headers are written to its socket, how long after `slotMs` (epoch ms)
 * the request may have reached Leaf: the write's own lateness or, when this process paused right after
 * the write, the end of that pause (see PAUSE_CHECK_MS).
 */
export interface SendWatch {
  slotMs: number;
  onSent(latenessMs: number): void;
}

/**
 * How long after a write the transport looks for a pause of its own process. The bytes of a request
 * written just before the process (or the whole machine: a VM freeze, the kernel) stopped may be read
 * by the other side only when everything runs again, and the rate window then stamps it that late; a
 * request `rps` slots later, sent on time, would then meet a window `rps + 1` strong. A timer set at the
 * write that fires PAUSE_MIN_MS or more past its time proves such a pause, and the request then counts
 * as sent when the process ran again. On the bench host such pauses (8–40 ms, every few seconds) were
 * seen at the same moment by an idle watcher process and by the simulator (docs/performance.md).
 */
export const PAUSE_CHECK_MS = 2;
/** A check timer this much past its time means the process paused after the write (timer jitter stays under it). */
export const PAUSE_MIN_MS = 3;

const now = () => performance.timeOrigin + performance.now();

/** undici's request objects being watched; set in the same tick as `request()` creates them. */
const watched = new WeakMap<object, SendWatch>();
let watchNext: SendWatch | undefined;
// Both channels publish synchronously: `undici:request:create` inside `request()`, `undici:client:sendHeaders`
// right where the headers go to the socket, which is the moment a rate window counts (nearly).
channel('undici:request:create').subscribe((message) => {
  const req = (message as { request?: object }).request;
  if (watchNext !== undefined && req !== undefined) watched.set(req, watchNext);
  watchNext = undefined;
});
channel('undici:client:sendHeaders').subscribe((message) => {
  const req = (message as { request?: object }).request;
  const watch = req === undefined ? undefined : watched.get(req);
  if (req === undefined || watch === undefined) return;
  watched.delete(req);
  const sentAt = now();
  const check = setTimeout(() => {
    const at = now();
    const paused = at - sentAt - PAUSE_CHECK_MS >= PAUSE_MIN_MS;
    watch.onSent((paused ? at : sentAt) - watch.slotMs);
  }, PAUSE_CHECK_MS);
  check.unref();
});

/** One HTTP exchange as the Leaf client sees it: the status, the headers (lower-case names) and the whole body as text. */
export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** What the Leaf client asks of the wire. */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  searchParams?: Record<string, string | number> | undefined;
  json?: unknown;
  headers: Record<string, string>;
}

/** undici's own timeout errors (connect), named ETIMEDOUT as the system calls it. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Leaf's wire: undici with keep-alive. Chosen over got after measuring both on the same loop (the bench's
 * `raw_clients`, docs/performance.md): got spends most of a request's CPU building and merging options.
 * No redirects are followed, a status is never an error, and the timeout bounds the whole exchange (one
 * timer per request: undici's own header and body timeouts are coarse below a second). Errors keep the
 * system code (ECONNREFUSED, ENOTFOUND, ETIMEDOUT) and never the request's headers. `close()` fails the
 * requests in flight.
 */
export class HttpTransport {
  private readonly dispatcher: Agent;

  constructor(private readonly options: { timeoutMs: number; userAgent: string }) {
    this.dispatcher = new Agent({ keepAliveTimeout: 10_000, connect: { timeout: options.timeoutMs } });
  }

  /** One exchange; `watch` learns when its headers reached the socket. */
  async send(req: HttpRequest, watch?: SendWatch): Promise<HttpAnswer> {
    let url = req.url;
    if (req.searchParams !== undefined) {
      const query = new URLSearchParams();
      for (const [name, value] of Object.entries(req.searchParams)) query.set(name, String(value));
      url = `${url}?${query.toString()}`;
    }
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent, accept: 'application/json', ...req.headers };
    let body: string | null = null;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = 'application/json';
    }
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.options.timeoutMs);
    try {
      watchNext = watch;
      const pending = request(url, { method: req.method, headers, body, signal: deadline.signal, dispatcher: this.dispatcher });
      watchNext = undefined;
      const res = await pending;
      return { statusCode: res.statusCode, headers: res.headers, body: await res.body.text() };
    } catch (error) {
      if (deadline.signal.aborted)
        throw Object.assign(new Error(`no complete answer within ${this.options.timeoutMs} ms`), { code: 'ETIMEDOUT' });
      throw timeoutNamed(error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the keep-alive sockets; requests still in flight fail. */
  close(): void {
    this.dispatcher.destroy().catch(() => undefined);
  }
}

/** undici's timeout errors carry their own codes; the client reports them as ETIMEDOUT. */
function timeoutNamed(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
    return Object.assign(new Error(`request timed out (${code})`), { code: 'ETIMEDOUT' });
  }
  return error;
}
