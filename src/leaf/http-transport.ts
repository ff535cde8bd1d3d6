import { Agent, request } from 'undici';

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

  async send(req: HttpRequest): Promise<HttpAnswer> {
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
      const res = await request(url, { method: req.method, headers, body, signal: deadline.signal, dispatcher: this.dispatcher });
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
