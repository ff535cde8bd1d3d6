import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request the receiver got. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body bytes as text (UTF-8). */
  body: string;
  /** Date.now() when the body had fully arrived. */
  at: number;
  /** Status the receiver answered (0 when the connection was dropped). */
  status: number;
  /** Date.now() when the answer was sent or the connection dropped (undefined while in flight). */
  answeredAt?: number;
}

/** The most requests that were in flight (from `at` to `answeredAt`) at once among `requests`. */
export function maxConcurrent(requests: ReadonlyArray<Pick<ReceivedRequest, 'at' | 'answeredAt'>>): number {
  const edges = requests.flatMap((r) => [
    { t: r.at, d: 1 },
    { t: r.answeredAt ?? Number.POSITIVE_INFINITY, d: -1 },
  ]);
  // An answer and an arrival at the same millisecond do not overlap.
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of edges) {
    now += e.d;
    max = Math.max(max, now);
  }
  return max;
}

/** How the receiver answers one request. */
export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Wait this long before answering. */
  delayMs?: number;
  body?: string;
}

/**
 * A real HTTP receiver on 127.0.0.1 for webhook tests: records every request (raw body, headers),
 * answers from a script (500/410/429/slow, default 200), and can stop and start again on the same port.
 */
export class WebhookReceiver {
  /** Requests answered (or dropped), in order. */
  readonly requests: ReceivedRequest[] = [];
  /** Requests whose body has arrived, before they are answered (a slow answer shows here first). */
  readonly arrivals: ReceivedRequest[] = [];
  private script: ScriptedAnswer[] = [];
  private fallback: ScriptedAnswer = { status: 200 };
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private waiters: Array<() => void> = [];

  private constructor(private portNumber: number) {}

  /** Starts a receiver on a free port (port 0). */
  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(0);
    await receiver.listen();
    return receiver;
  }

  get port(): number {
    return this.portNumber;
  }

  /** The URL to configure as an endpoint (`path` defaults to /hook). */
  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.portNumber}${path}`;
  }

  /** Queues answers used one per request, in order; after them the fallback answers. */
  respondWith(...answers: ScriptedAnswer[]): void {
    this.script.push(...answers);
  }

  /** The answer once the script is used up (default 200). */
  setFallback(answer: ScriptedAnswer): void {
    this.fallback = answer;
  }

  /** Requests whose answer was 2xx. */
  accepted(): ReceivedRequest[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  /** Resolves once `count` answered requests (or `arrivals`) satisfy `predicate`, or rejects after `timeoutMs`. */
  async waitFor(
    count: number,
    timeoutMs = 15_000,
    predicate: (r: ReceivedRequest) => boolean = () => true,
    list: 'requests' | 'arrivals' = 'requests',
  ): Promise<ReceivedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const matching = this[list].filter(predicate);
      if (matching.length >= count) return matching;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`receiver got ${matching.length} matching request(s), expected ${count} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Starts listening again on the same port after stop(). */
  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = this.script.shift() ?? this.fallback;
        const record: ReceivedRequest = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
          status: 0,
        };
        this.arrivals.push(record);
        for (const wake of this.waiters.splice(0)) wake();
        const reply = (r: ServerResponse) => {
          record.status = answer.status;
          record.answeredAt = Date.now();
          this.requests.push(record);
          r.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? '');
          for (const wake of this.waiters.splice(0)) wake();
        };
        if (answer.delayMs !== undefined && answer.delayMs > 0) {
          const timer = setTimeout(() => reply(res), answer.delayMs);
          res.on('close', () => {
            if (!res.writableEnded) {
              clearTimeout(timer);
              record.answeredAt = Date.now();
              this.requests.push(record);
              for (const wake of this.waiters.splice(0)) wake();
            }
          });
        } else reply(res);
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.portNumber, '127.0.0.1', () => resolve());
    });
    this.portNumber = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and drops open connections; the port stays reserved for listen(). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
